-- Run once by the mariadb image of docker-compose.yml when its volume is new
-- (/docker-entrypoint-initdb.d): the CDC account and the demo table.
CREATE USER IF NOT EXISTS 'cdc'@'%' IDENTIFIED BY 'cdcpass';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'cdc'@'%';
CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.orders (
	id INT AUTO_INCREMENT PRIMARY KEY,
	customer VARCHAR(64),
	amount DECIMAL(10,2),
	status ENUM('new','paid','shipped'),
	created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)
);
