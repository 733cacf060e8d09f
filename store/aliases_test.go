package store

import "github.com/redis/go-redis/v9"

type (
	readArgs  = redis.XReadGroupArgs
	claimArgs = redis.XClaimArgs
)
