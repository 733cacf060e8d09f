package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/source"
)

// decodeServerID is the replication client id of the decode baseline; the
// node's tasks get ids from 1,000,001 up.
const decodeServerID = 4242

// measureDecode streams the binlog from `from` with go-mysql's BinlogSyncer,
// set up as source.MySQL sets it up, and counts row changes (an update's
// before/after pair is one) until want. It runs at the node's GOGC (400)
// so that the two decode under the same collector settings.
func measureDecode(ctx context.Context, rg *rig, from source.Checkpoint, want int) (phase, error) {
	m := rg.m
	old := debug.SetGCPercent(400)
	defer debug.SetGCPercent(old)
	syncer := newSyncer(m, decodeServerID)
	defer syncer.Close()

	cpu := rg.startCPU()
	start := time.Now()
	streamer, err := syncer.StartSync(mysql.Position{Name: from.File, Pos: from.Pos})
	if err != nil {
		return phase{}, fmt.Errorf("starting binlog dump from %s: %w", from, err)
	}
	rows := 0
	for rows < want {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			return phase{}, fmt.Errorf("reading binlog after %d rows: %w", rows, err)
		}
		if e, ok := ev.Event.(*replication.RowsEvent); ok {
			n := len(e.Rows)
			if e.Type() == replication.EnumRowsEventTypeUpdate {
				n /= 2
			}
			rows += n
		}
	}
	p := phase{Name: "decode", Events: rows, Elapsed: time.Since(start)}
	p.CPU = cpu.stop()
	return p, nil
}

// newSyncer is a go-mysql BinlogSyncer of m with replication client id
// serverID, configured as source.MySQL configures the node's but decoding
// every row with go-mysql's own decoder (the node reads most rows with its
// own, source's fastImage, and only those of the tables it reads).
func newSyncer(m *testenv.MariaDB, serverID uint32) *replication.BinlogSyncer {
	return replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: serverID, Flavor: mysql.MariaDBFlavor,
		Host: m.Host, Port: uint16(m.Port), User: testenv.MariaDBUser, Password: testenv.MariaDBPassword,
		TimestampStringLocation: time.UTC,
		ParseTime:               true,
		RenderJSONAsMySQLText:   true,
		HeartbeatPeriod:         time.Second,
		ReadTimeout:             10 * time.Second,
		DisableRetrySync:        true,
		EventCacheCount:         64,
		Logger:                  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}
