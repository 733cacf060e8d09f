package worker

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisHook times every Redis round trip of the node and counts the
// failed ones, by command: what an operator looks at first when tasks
// slow down or retry.
type redisHook struct{ m *Metrics }

// InstrumentRedis adds the node's Redis metrics to c.
func (m *Metrics) InstrumentRedis(c redis.UniversalClient) { c.AddHook(redisHook{m}) }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if failed(err) {
			h.m.redisErrors.WithLabelValues("dial").Inc()
		}
		return conn, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		began := time.Now()
		err := next(ctx, cmd)
		name := cmd.Name()
		h.m.redisSeconds.WithLabelValues(name).Observe(time.Since(began).Seconds())
		if failed(err) {
			h.m.redisErrors.WithLabelValues(name).Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		began := time.Now()
		err := next(ctx, cmds)
		h.m.redisSeconds.WithLabelValues("pipeline").Observe(time.Since(began).Seconds())
		for _, c := range cmds {
			if failed(c.Err()) {
				h.m.redisErrors.WithLabelValues(c.Name()).Inc()
			}
		}
		return err
	}
}

// failed reports whether err is a failure of Redis or of the way to it:
// not a nil reply, not the node's own cancellation, and not the NOSCRIPT
// reply after which go-redis sends a script's body once.
func failed(err error) bool {
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.Is(err, context.Canceled):
		return false
	case strings.HasPrefix(err.Error(), "NOSCRIPT"):
		return false
	}
	return true
}
