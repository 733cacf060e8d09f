package worker

import "github.com/dataingest/dataingest/store"

// What a start entry means is decided here, as a pure function of what is
// known about it (facts), one step at a time: decide either asks for one
// more fact (read the task's desired state, its lock, the holder's
// liveness, or a placement) or names what to do with the entry. The
// consumer's settle gathers the facts asked for and carries out the final
// step; it is the only place where a start entry's Redis effects happen.

// lockFact is what is known about a task's lock.
type lockFact int

const (
	lockUnknown lockFact = iota // not read yet
	lockFree                    // nobody holds it
	lockHere                    // held by an earlier run of this node (it was killed)
	lockOther                   // held by another node, liveness not read yet
	lockLive                    // held by another node that heartbeats
	lockDead                    // held by another node that does not
)

// Desired states a start entry can find, besides store.DesiredRunning,
// store.DesiredStopped and store.DesiredDeleted.
const (
	desiredUnknown = ""     // not read yet
	desiredNone    = "none" // the task has no config: deleted
)

// facts is what a start entry's meaning depends on.
type facts struct {
	Self     string // this node
	From     origin // how the entry reached this node (a hand-over entry counts as reclaimed)
	Closing  bool   // this node is handing its tasks over
	RunsHere bool   // a runner of this node runs the task and goes on running it
	OwnEntry bool   // the entry is that runner's own start entry
	Room     bool   // this node may run one more task (DATAINGEST_MAX_TASKS)

	Desired string   // the task's desired state; desiredUnknown until read
	Lock    lockFact // the task's lock
	Holder  string   // the node holding the lock (lockOther, lockLive, lockDead)
	Placed  bool     // the placer was asked
	Target  string   // its answer: the node to run the task, "" when no node has room
}

// step is what settle does next with a start entry.
type step int

const (
	// Facts to gather, after which decide is asked again.
	readDesired  step = iota + 1 // the task's desired state (Desired)
	readLock                     // the task's lock (Lock, Holder)
	readLiveness                 // whether Holder is alive (lockLive or lockDead)
	place                        // a placement (Placed, Target); Near: keep it here if about as good

	// Final steps.
	keep      // leave the entry pending here; the inbox check retries it
	ack       // acknowledge the entry: it stands for nothing more
	runHere   // take the task's lock and run it here, the entry held pending
	give      // move the entry to node To's pending list and wake it
	republish // publish a new start for any node, then acknowledge this entry
)

var stepNames = map[step]string{
	readDesired: "readDesired", readLock: "readLock", readLiveness: "readLiveness", place: "place",
	keep: "keep", ack: "ack", runHere: "runHere", give: "give", republish: "republish",
}

func (s step) String() string { return stepNames[s] }

// final reports whether s acts on the entry rather than reading a fact.
func (s step) final() bool { return s >= keep }

// decision is decide's answer.
type decision struct {
	Do    step
	To    string // give: the node
	Near  bool   // place: prefer this node when it is about as good (the task is moving anyway)
	Why   string // for the log
	Quiet bool   // log at debug level: expected, or retried every inbox check
	Warn  bool   // log as a warning: the operator should know
}

// decide returns what to do next with a start entry of a task, given what
// is known. It asks for a fact only when the answer depends on it, so a
// caller that supplies facts one step at a time reaches a final step
// within five steps.
func decide(f facts) decision {
	// The entry a runner here holds is the runner's: it acknowledges it
	// when the task stops or is deleted.
	if f.RunsHere && f.OwnEntry {
		return decision{Do: keep, Why: "the task runs here on this entry", Quiet: true}
	}

	// A start only counts while the task is wanted running. A fresh start
	// has just stored "running" (unless it was older than a command
	// applied already); a pending or reclaimed entry may be stale.
	switch f.Desired {
	case desiredUnknown:
		return decision{Do: readDesired}
	case desiredNone:
		return decision{Do: ack, Why: "start of a task that no longer exists"}
	case store.DesiredRunning:
	default:
		return decision{Do: ack, Why: "start of a task no longer wanted running (" + f.Desired + ")"}
	}

	// Handing over: the task of a lock held here leaves with the hand-over
	// (or, should that fail, by reclaim), so its entry stays; any other
	// start goes back on the stream for another node.
	if f.Closing {
		if f.Lock == lockUnknown {
			return decision{Do: readLock}
		}
		if f.Lock == lockHere {
			return decision{Do: keep, Why: "the task leaves with the hand-over", Quiet: true}
		}
		return decision{Do: republish, Why: "node " + f.Self + " shutting down"}
	}

	// Running here: the runner picks up a new config itself.
	if f.RunsHere {
		return decision{Do: ack, Why: "the task runs here already"}
	}

	switch f.Lock {
	case lockUnknown:
		return decision{Do: readLock}
	case lockHere:
		return decision{Do: keep, Why: "task locked by an earlier run of this node; it starts when the lock expires", Quiet: true}
	case lockOther, lockLive, lockDead:
		// A fresh entry is a duplicate: the holder has its own entry.
		// A pending or reclaimed one may be the holder's own: it goes
		// back to a live holder, and waits while a dead one's lock
		// expires.
		if f.From == fresh {
			return decision{Do: ack, Why: "task runs on node " + f.Holder}
		}
		switch f.Lock {
		case lockOther:
			return decision{Do: readLiveness}
		case lockDead:
			return decision{Do: keep, Why: "task locked by dead node " + f.Holder + "; it starts here when the lock expires", Quiet: true}
		}
		return decision{Do: give, To: f.Holder, Why: "back to node " + f.Holder + ", which runs the task"}
	}

	// Nobody runs it. An entry given to this node stays while it has room,
	// so that a stale view of the fleet cannot bounce it between nodes.
	if f.From == pending && f.Room {
		return decision{Do: runHere}
	}
	if !f.Placed {
		// A dead or stopping node's task moves anyway: it stays here
		// when this node is about as good as the best.
		return decision{Do: place, Near: f.From == reclaimed}
	}
	switch f.Target {
	case "":
		// An entry pending here was said of once already: it is retried
		// every inbox check.
		return decision{Do: keep, Why: "no live node has room for the task (DATAINGEST_MAX_TASKS); it waits here",
			Quiet: f.From == pending, Warn: f.From != pending}
	case f.Self:
		return decision{Do: runHere}
	}
	return decision{Do: give, To: f.Target, Why: "placing the task on node " + f.Target}
}
