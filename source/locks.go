package source

import (
	"context"
	"fmt"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
)

// blockDDL holds off DDL on the server, without blocking row changes, until
// the returned function is called: LOCK INSTANCE FOR BACKUP on MySQL (it
// needs BACKUP_ADMIN), BACKUP STAGE BLOCK_DDL on MariaDB (it needs RELOAD).
// It is what makes a schema catalog read from information_schema true at a
// binlog position read just before: no DDL can come between. It takes its
// own connection, so that the caller's transaction is not touched. When the
// user may not, it logs so and returns a no-op: the seed is then exposed to
// a DDL statement that runs in the milliseconds between the two reads.
func (m *MySQL) blockDDL(ctx context.Context, ep Endpoint, flavor string) (release func()) {
	conn, err := connect(ctx, ep)
	if err != nil {
		m.cfg.Log.Warn().Err(err).Msg("cannot hold off DDL while reading the schema: connecting failed")
		return func() {}
	}
	lock, unlock := []string{"LOCK INSTANCE FOR BACKUP"}, []string{"UNLOCK INSTANCE"}
	if flavor == mysql.MariaDBFlavor {
		lock, unlock = []string{"BACKUP STAGE START", "BACKUP STAGE BLOCK_DDL"}, []string{"BACKUP STAGE END"}
	}
	for _, q := range lock {
		if _, err := conn.Execute(q); err != nil {
			m.cfg.Log.Info().Err(err).Str("statement", q).
				Msg("cannot hold off DDL while reading the schema (grant BACKUP_ADMIN on MySQL, RELOAD on MariaDB): a DDL statement in the next milliseconds could make the task's first schema wrong")
			conn.Close()
			return func() {}
		}
	}
	taken := time.Now()
	return func() {
		for _, q := range unlock {
			_, _ = conn.Execute(q)
		}
		conn.Close()
		m.cfg.Log.Debug().Dur("held", time.Since(taken)).Msg("DDL held off while reading the schema")
	}
}

// lockedSnapshot starts a consistent snapshot transaction on conn and
// returns the binlog position it reflects. MariaDB reports the position of
// its consistent snapshot itself, with no lock. MySQL does not, so a
// global read lock (FLUSH TABLES WITH READ LOCK, needing RELOAD) holds off
// commits only while the transaction starts and the position is read;
// held reports how long.
func lockedSnapshot(conn *client.Conn, ep Endpoint, flavor string) (pos Checkpoint, held time.Duration, err error) {
	if _, err := conn.Execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return pos, 0, classify(fmt.Errorf("snapshot on %s: %w", ep.Addr(), err))
	}
	if flavor == mysql.MariaDBFlavor {
		pos, err = mariadbSnapshot(conn, ep)
		return pos, 0, err
	}
	if _, err := conn.Execute("FLUSH TABLES WITH READ LOCK"); err != nil {
		return pos, 0, classify(fmt.Errorf("locking tables for the snapshot on %s (the user needs RELOAD): %w", ep.Addr(), err))
	}
	start := time.Now()
	defer func() {
		_, _ = conn.Execute("UNLOCK TABLES")
		held = time.Since(start)
	}()
	if _, err := conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return pos, 0, classify(fmt.Errorf("starting a consistent snapshot on %s: %w", ep.Addr(), err))
	}
	pos, err = currentPosition(conn, ep, flavor)
	return pos, 0, err
}
