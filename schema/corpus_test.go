package schema

// corpus holds long mixed DDL sequences and the tables they leave. The
// default database of every statement is shop.
var corpus = []corpusCase{
	{name: "shop_mariadb", flavor: FlavorMariaDB, steps: []step{
		{stmt: "CREATE DATABASE shop CHARACTER SET utf8mb4"},
		{stmt: "CREATE TABLE orders (id bigint unsigned NOT NULL AUTO_INCREMENT, customer varchar(64) NOT NULL, " +
			"status enum('new','paid') DEFAULT 'new', total decimal(10,2), note text CHARACTER SET latin1, " +
			"created datetime(3), PRIMARY KEY (id)) ENGINE=InnoDB", changes: []string{"CREATE shop.orders"}},
		{stmt: "ALTER TABLE orders ADD COLUMN email varchar(255) AFTER customer, ADD INDEX (customer)", changes: []string{"ALTER shop.orders"}},
		{stmt: "ALTER TABLE orders MODIFY status enum('new','paid','it''s') NOT NULL", changes: []string{"ALTER shop.orders"}},
		{stmt: "ALTER TABLE orders CHANGE note remark mediumtext, DROP COLUMN created", changes: []string{"ALTER shop.orders"}},
		{stmt: "CREATE TABLE items (order_id bigint unsigned, sku char(12), qty smallint, PRIMARY KEY (order_id, sku))", changes: []string{"CREATE shop.items"}},
		{stmt: "RENAME TABLE items TO order_items", changes: []string{"RENAME shop.order_items<-shop.items"}},
		{stmt: "ALTER TABLE order_items DROP PRIMARY KEY, ADD PRIMARY KEY (sku, order_id)", changes: []string{"ALTER shop.order_items"}},
		{stmt: "CREATE TABLE tmp LIKE order_items", changes: []string{"CREATE shop.tmp"}},
		{stmt: "ALTER TABLE tmp ADD extra json", changes: []string{"ALTER shop.tmp"}},
		{stmt: "DROP TABLE tmp", changes: []string{"DROP shop.tmp (gone)"}},
		{stmt: "TRUNCATE order_items", changes: []string{"TRUNCATE shop.order_items"}},
		{stmt: "CREATE TABLE IF NOT EXISTS orders (x int)"},
		{stmt: "BEGIN"},
		{stmt: "ALTER TABLE orders ENGINE=InnoDB, COMMENT='orders'", changes: []string{"ALTER shop.orders"}},
	}, want: []string{
		`shop.order_items utf8mb4/utf8mb4_general_ci key["sku" "order_id"]
  "order_id" bigint(20) unsigned (bigint) unsigned not-null
  "sku" char(12) (char) utf8mb4/utf8mb4_general_ci len=12 not-null
  "qty" smallint(6) (smallint) null`,
		`shop.orders utf8mb4/utf8mb4_general_ci key["id"]
  "id" bigint(20) unsigned (bigint) unsigned not-null
  "customer" varchar(64) (varchar) utf8mb4/utf8mb4_general_ci len=64 not-null
  "email" varchar(255) (varchar) utf8mb4/utf8mb4_general_ci len=255 null
  "status" enum('new','paid','it''s') (enum) utf8mb4/utf8mb4_general_ci labels["new" "paid" "it's"] not-null
  "total" decimal(10,2) (decimal) p=10 s=2 null
  "remark" mediumtext (mediumtext) utf8mb4/utf8mb4_general_ci null`,
	}},
	{name: "tracking_mysql", flavor: FlavorMySQL, track: func(db string) bool { return db == "app" }, steps: []step{
		{stmt: "CREATE DATABASE app"},
		{stmt: "CREATE DATABASE other CHARACTER SET latin1"},
		{stmt: "CREATE TABLE app.a (id int PRIMARY KEY, v varchar(10))", changes: []string{"CREATE app.a"}},
		{stmt: "CREATE TABLE other.x (id int)"},
		{stmt: "CREATE TABLE other.y (id int, name varchar(5))"},
		{stmt: "RENAME TABLE app.a TO other.a", changes: []string{"RENAME other.a<-app.a (gone)"}},
		{stmt: "RENAME TABLE other.x TO app.x", err: "lookup app.x"},
		{stmt: "CREATE TABLE app.l LIKE other.y", err: "unknown other.y"},
		{stmt: "CREATE TABLE app.p (a int)", changes: []string{"CREATE app.p"}},
		{stmt: "CREATE TABLE app.q (b int)", changes: []string{"CREATE app.q"}},
		{stmt: "RENAME TABLE app.p TO app.tmp, app.q TO app.p, app.tmp TO app.q",
			changes: []string{"RENAME app.tmp<-app.p", "RENAME app.p<-app.q", "RENAME app.q<-app.tmp"}},
		{stmt: "ALTER TABLE other.y RENAME TO app.y", err: "lookup app.y"},
		{stmt: "RENAME TABLE other.nosuch TO app.n1, app.n1 TO app.n2", err: "lookup app.n2"},
		{stmt: "ALTER TABLE app.p RENAME TO other.p2, ADD c int", changes: []string{"RENAME other.p2<-app.p (gone)"}},
		{stmt: "CREATE TABLE app.s SELECT 1 AS one", err: "lookup app.s"},
		{stmt: "CREATE TABLE app.r (a int) SELECT 1 AS one; CREATE TABLE app.r2 (b int)", changes: []string{"CREATE app.r2"}, err: "lookup app.r"},
		{stmt: "DROP DATABASE app", changes: []string{"DROP app.q (gone)", "DROP app.r2 (gone)"}},
		{stmt: "CREATE TABLE app.final (a int)", err: "lookup app.final"},
		{stmt: "CREATE DATABASE app CHARACTER SET latin1"},
		{stmt: "CREATE TABLE app.final2 (a varchar(2))", changes: []string{"CREATE app.final2"}},
	}, want: []string{
		`app.final2 latin1/latin1_swedish_ci key[]
  "a" varchar(2) (varchar) latin1/latin1_swedish_ci len=2 null`,
	}},
	{name: "charsets_mysql", flavor: FlavorMySQL, steps: []step{
		{stmt: "CREATE DATABASE shop DEFAULT CHARSET latin2"},
		{stmt: "CREATE TABLE t (a varchar(3), b char(2) CHARACTER SET utf8, c text COLLATE utf8mb4_bin, d varchar(4) BINARY, " +
			"e text(100) CHARSET latin1, f char(3) CHARACTER SET binary, g tinytext)", changes: []string{"CREATE shop.t"}},
		{stmt: "ALTER TABLE t DEFAULT CHARSET=utf8mb4", changes: []string{"ALTER shop.t"}},
		{stmt: "ALTER TABLE t ADD h varchar(1), ADD i json, ADD j vector(3) FIRST", changes: []string{"ALTER shop.t"}},
		{stmt: "ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", changes: []string{"ALTER shop.t"}},
	}, want: []string{
		`shop.t utf8mb4/utf8mb4_unicode_ci key[]
  "j" vector(3) (vector) len=3 null
  "a" varchar(3) (varchar) utf8mb4/utf8mb4_unicode_ci len=3 null
  "b" char(2) (char) utf8mb4/utf8mb4_unicode_ci len=2 null
  "c" text (text) utf8mb4/utf8mb4_unicode_ci null
  "d" varchar(4) (varchar) utf8mb4/utf8mb4_unicode_ci len=4 null
  "e" text (text) utf8mb4/utf8mb4_unicode_ci null
  "f" binary(3) (binary) binary/binary len=3 null
  "g" text (text) utf8mb4/utf8mb4_unicode_ci null
  "h" varchar(1) (varchar) utf8mb4/utf8mb4_unicode_ci len=1 null
  "i" json (json) null json`,
	}},
	{name: "charsets_before_convert", flavor: FlavorMySQL, steps: []step{
		{stmt: "CREATE DATABASE shop DEFAULT CHARSET latin2"},
		{stmt: "CREATE TABLE t (a varchar(3), b char(2) CHARACTER SET utf8, c text COLLATE utf8mb4_bin, d varchar(4) BINARY, " +
			"e text(100) CHARSET latin1, f char(3) CHARACTER SET binary, g tinytext, h enum('ä','😀') COLLATE utf8mb4_bin)",
			changes: []string{"CREATE shop.t"}},
	}, want: []string{
		`shop.t latin2/latin2_general_ci key[]
  "a" varchar(3) (varchar) latin2/latin2_general_ci len=3 null
  "b" char(2) (char) utf8mb3/utf8mb3_general_ci len=2 null
  "c" text (text) utf8mb4/utf8mb4_bin null
  "d" varchar(4) (varchar) latin2/latin2_bin len=4 null
  "e" tinytext (tinytext) latin1/latin1_swedish_ci null
  "f" binary(3) (binary) binary/binary len=3 null
  "g" tinytext (tinytext) latin2/latin2_general_ci null
  "h" enum('ä','😀') (enum) utf8mb4/utf8mb4_bin labels["ä" "😀"] null`,
	}},
	{name: "names", flavor: FlavorMariaDB, steps: []step{
		{stmt: "CREATE DATABASE shop"},
		{stmt: "CREATE TABLE `we``ird` (`a``b` int, `dot.ted` int, `sp ace` int, `ünï` varchar(3), `Mixed` int)", changes: []string{"CREATE shop.we`ird"}},
		{stmt: "ALTER TABLE `we``ird` CHANGE `a``b` `c``d` bigint, MODIFY `MIXED` int unsigned, RENAME COLUMN `SP ACE` TO `sp_ace`", changes: []string{"ALTER shop.we`ird"}},
		{stmt: "CREATE TABLE `shop`.`dot.table` (a int)", changes: []string{"CREATE shop.dot.table"}},
		{stmt: "CREATE TABLE Upper (A int)", changes: []string{"CREATE shop.Upper"}},
		{stmt: "CREATE TABLE upper (a int)", changes: []string{"CREATE shop.upper"}},
		{stmt: "ALTER TABLE Upper ADD b int", changes: []string{"ALTER shop.Upper"}},
		{stmt: "ALTER TABLE upper ADD COLUMN A int", err: "parse"},
		{stmt: `CREATE TABLE "quoted" (a int)`, err: "parse"},
	}, want: []string{
		`shop.Upper utf8mb4/utf8mb4_general_ci key[]
  "A" int(11) (int) null
  "b" int(11) (int) null`,
		`shop.dot.table utf8mb4/utf8mb4_general_ci key[]
  "a" int(11) (int) null`,
		`shop.upper utf8mb4/utf8mb4_general_ci key[]
  "a" int(11) (int) null`,
		"shop.we`ird utf8mb4/utf8mb4_general_ci key[]\n" +
			"  \"c`d\" bigint(20) (bigint) null\n" +
			`  "dot.ted" int(11) (int) null
  "sp_ace" int(11) (int) null
  "ünï" varchar(3) (varchar) utf8mb4/utf8mb4_general_ci len=3 null
  "MIXED" int(10) unsigned (int) unsigned null`,
	}},
	{name: "mariadb_types", flavor: FlavorMariaDB, steps: []step{
		{stmt: "CREATE DATABASE shop"},
		{stmt: "CREATE OR REPLACE TABLE t (id uuid PRIMARY KEY, ip inet6, ip4 inet4, g point NOT NULL, doc json, " +
			"chk longtext CHECK (json_valid(chk)), t2 text, CONSTRAINT c1 CHECK (json_valid(t2)), y year, b bool, n nchar(2), " +
			"v int INVISIBLE, p int AS (1) PERSISTENT, SPATIAL INDEX (g))", changes: []string{"CREATE shop.t"}},
		{stmt: "ALTER ONLINE TABLE t WAIT 2 ADD COLUMN IF NOT EXISTS ip inet6, ADD COLUMN IF NOT EXISTS z geometrycollection", changes: []string{"ALTER shop.t"}},
		{stmt: "CREATE OR REPLACE TABLE t2 LIKE t", changes: []string{"CREATE shop.t2"}},
		{stmt: "ALTER TABLE t2 MODIFY doc longtext", err: "lookup shop.t2"},
		{stmt: "ALTER TABLE t DROP INDEX g", changes: []string{"ALTER shop.t"}},
		{stmt: "SET STATEMENT max_statement_time=10 FOR ALTER TABLE t ALTER COLUMN v SET INVISIBLE", changes: []string{"ALTER shop.t"}},
		{stmt: "CREATE TABLE t3 (a int) WITH SYSTEM VERSIONING", err: "parse"},
		{stmt: "CREATE TABLE t4 (a varchar(10) COMPRESSED)", err: "parse"},
	}, want: []string{
		`shop.t utf8mb4/utf8mb4_general_ci key["id"]
  "id" uuid (uuid) not-null
  "ip" inet6 (inet6) null
  "ip4" inet4 (inet4) null
  "g" point (point) not-null
  "doc" longtext (longtext) utf8mb4/utf8mb4_bin null json
  "chk" longtext (longtext) utf8mb4/utf8mb4_general_ci null json
  "t2" text (text) utf8mb4/utf8mb4_general_ci null
  "y" year(4) (year) null
  "b" tinyint(1) (tinyint) null
  "n" char(2) (char) utf8mb3/utf8mb3_general_ci len=2 null
  "v" int(11) (int) null
  "p" int(11) (int) null
  "z" geometrycollection (geometrycollection) null`,
	}},
	{name: "drops_and_errors", flavor: FlavorMySQL, steps: []step{
		{stmt: "CREATE DATABASE shop"},
		{stmt: "CREATE TABLE a (x int)", changes: []string{"CREATE shop.a"}},
		{stmt: "CREATE TABLE b (y int)", changes: []string{"CREATE shop.b"}},
		{stmt: "CREATE DATABASE keep"},
		{stmt: "CREATE TABLE keep.k (z int)", changes: []string{"CREATE keep.k"}},
		{stmt: "DROP DATABASE shop", changes: []string{"DROP shop.a (gone)", "DROP shop.b (gone)"}},
		{stmt: "DROP TABLE IF EXISTS keep.nosuch, keep.k", changes: []string{"DROP keep.k (gone)"}},
		{stmt: "CREATE TABLE keep.t (a int)", changes: []string{"CREATE keep.t"}},
		{stmt: "CREATE TABLE keep.t2 (a int", err: "parse"},
		{stmt: "ALTER TABLE keep.t ADD b int, ADD c nosuchtype", err: "parse"},
		{stmt: "ALTER TABLE keep.t ADD b int, DROP COLUMN nosuch", err: "parse"},
		{stmt: "ALTER TABLE keep.t ADD c int; ALTER TABLE keep.t ADD c int", err: "parse"},
		{stmt: "ALTER TABLE keep.t ADD PRIMARY KEY (nosuch)", err: "parse"},
		{stmt: "ALTER TABLE keep.nosuch ADD x int", err: "lookup keep.nosuch"},
		{stmt: "TRUNCATE TABLE keep.nosuch2", err: "lookup keep.nosuch2"},
		{stmt: "CREATE INDEX i ON keep.t (a)", changes: []string{"ALTER keep.t"}},
		{stmt: "ALTER TABLE keep.t ADD COLUMN d int AFTER nosuch", err: "parse"},
	}, want: []string{
		`keep.t utf8mb4/utf8mb4_0900_ai_ci key[]
  "a" int (int) null`,
	}},
}
