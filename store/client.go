package store

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/dataingest/dataingest/config"
)

// NewClient builds the Redis client the configuration asks for: Sentinel
// when a master name is set, Cluster for several addresses, else
// standalone.
func NewClient(c config.Redis) (redis.UniversalClient, error) {
	tlsConf, err := c.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("redis TLS: %w", err)
	}
	opts := &redis.UniversalOptions{
		Addrs: c.Addrs, MasterName: c.MasterName, Username: c.Username, Password: string(c.Password),
		DB: c.DB, TLSConfig: tlsConf,
		// Honour context deadlines on socket reads, so that a paused or
		// unreachable Redis cannot hold a caller past its deadline.
		ContextTimeoutEnabled: true,
	}
	switch c.Mode() {
	case config.ModeSentinel:
		return redis.NewFailoverClient(opts.Failover()), nil
	case config.ModeCluster:
		return redis.NewClusterClient(opts.Cluster()), nil
	default:
		return redis.NewClient(opts.Simple()), nil
	}
}
