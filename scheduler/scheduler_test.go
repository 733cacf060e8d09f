package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestPlace(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		self  string
		want  string
	}{
		{"alone", []Node{{ID: "a", Tasks: 5}}, "a", "a"},
		{"least loaded", []Node{{ID: "a", Tasks: 5}, {ID: "b", Tasks: 2}, {ID: "c", Tasks: 3}}, "a", "b"},
		{"tie keeps self", []Node{{ID: "a", Tasks: 2}, {ID: "b", Tasks: 2}}, "b", "b"},
		{"tie elsewhere: first", []Node{{ID: "a", Tasks: 2}, {ID: "b", Tasks: 2}, {ID: "c", Tasks: 3}}, "c", "a"},
		{"full skipped", []Node{{ID: "a", Tasks: 1, MaxTasks: 1}, {ID: "b", Tasks: 4}}, "a", "b"},
		{"all full", []Node{{ID: "a", Tasks: 1, MaxTasks: 1}}, "a", ""},
		{"no nodes", nil, "a", ""},
	}
	for _, tt := range tests {
		if got := Place(tt.nodes, tt.self); got != tt.want {
			t.Errorf("%s: Place = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestShed(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		self  string
		want  []string
	}{
		{"balanced", []Node{{ID: "a", Tasks: 4}, {ID: "b", Tasks: 3}, {ID: "c", Tasks: 3}}, "a", nil},
		{"gap of two", []Node{{ID: "a", Tasks: 5}, {ID: "b", Tasks: 3}, {ID: "c", Tasks: 4}}, "a", []string{"b"}},
		{"gaps of one", []Node{{ID: "a", Tasks: 4}, {ID: "b", Tasks: 4}, {ID: "c", Tasks: 3}, {ID: "d", Tasks: 3}}, "a", nil},
		{"joiner of an even fleet", []Node{{ID: "a", Tasks: 4}, {ID: "b", Tasks: 4}, {ID: "c", Tasks: 4}, {ID: "d", Tasks: 0}}, "b", []string{"d"}},
		{"joiner", []Node{{ID: "a", Tasks: 10}, {ID: "b", Tasks: 10}, {ID: "c", Tasks: 10}, {ID: "d", Tasks: 0}}, "a",
			[]string{"d", "d"}},
		{"joiner, other shedders", []Node{{ID: "a", Tasks: 10}, {ID: "b", Tasks: 10}, {ID: "d", Tasks: 0}}, "b",
			[]string{"d", "d", "d"}},
		{"spread by deficit", []Node{{ID: "a", Tasks: 12}, {ID: "b", Tasks: 0}, {ID: "c", Tasks: 3}}, "a",
			[]string{"b", "c", "b", "c", "b", "b", "b"}},
		{"over max tasks", []Node{{ID: "a", Tasks: 5, MaxTasks: 3}, {ID: "b", Tasks: 5}}, "a", []string{"b", "b"}},
		{"over max tasks, no room", []Node{{ID: "a", Tasks: 5, MaxTasks: 3}, {ID: "b", Tasks: 5, MaxTasks: 5}}, "a", nil},
		{"joiner of 3/3/3", []Node{{ID: "a", Tasks: 3}, {ID: "b", Tasks: 3}, {ID: "c", Tasks: 3}, {ID: "d", Tasks: 0}}, "b", []string{"d"}},
		{"joiner of 3/3/3, first keeps", []Node{{ID: "a", Tasks: 3}, {ID: "b", Tasks: 3}, {ID: "c", Tasks: 3}, {ID: "d", Tasks: 0}}, "a", nil},
		{"a leave: 5/4 of 9", []Node{{ID: "a", Tasks: 6}, {ID: "b", Tasks: 3}}, "a", []string{"b"}},
		{"over max, room elsewhere", []Node{{ID: "a", Tasks: 5, MaxTasks: 3}, {ID: "b", Tasks: 1}}, "a", []string{"b", "b"}},
		{"unknown self", []Node{{ID: "a", Tasks: 5}}, "z", nil},
	}
	for _, tt := range tests {
		got := Shed(tt.nodes, tt.self)
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Shed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSettled(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		want  bool
	}{
		{"each runs what is pending on it", []Node{{ID: "a", Tasks: 3, Running: 3}, {ID: "b", Tasks: 0, Running: 0}}, true},
		{"a batch being placed", []Node{{ID: "a", Tasks: 19, Running: 3}, {ID: "b", Tasks: 3, Running: 3}}, false},
		{"a batch being placed, at the allotment", []Node{{ID: "a", Tasks: 5, Running: 3}, {ID: "b", Tasks: 5, Running: 5}}, false},
		{"a dead node's tasks being adopted", []Node{{ID: "a", Tasks: 667, Running: 333}, {ID: "b", Tasks: 340, Running: 333}}, false},
		{"entries given to a node below its share", []Node{{ID: "a", Tasks: 4, Running: 4}, {ID: "b", Tasks: 4, Running: 4}, {ID: "c", Tasks: 2, Running: 0}}, true},
		{"a sender's moves in flight", []Node{{ID: "a", Tasks: 3, Running: 4}, {ID: "b", Tasks: 4, Running: 4}, {ID: "c", Tasks: 1, Running: 0}}, true},
		{"a full node's entry waits for room", []Node{{ID: "a", Tasks: 3, Running: 2, MaxTasks: 2}, {ID: "b", Tasks: 2, Running: 2, MaxTasks: 2}}, true},
		{"no nodes", nil, true},
	}
	for _, tt := range tests {
		if got := Settled(tt.nodes); got != tt.want {
			t.Errorf("%s: Settled(%v) = %v, want %v", tt.name, tt.nodes, got, tt.want)
		}
	}
}

// playRound is one monitor round: every node sheds as Shed says, all
// deciding on the same view of the fleet. It returns the moves made.
func playRound(nodes []Node) int {
	snapshot := append([]Node(nil), nodes...)
	moves := 0
	for i := range snapshot {
		for _, to := range Shed(snapshot, snapshot[i].ID) {
			nodes[i].Tasks--
			for j := range nodes {
				if nodes[j].ID == to {
					nodes[j].Tasks++
				}
			}
			moves++
		}
	}
	return moves
}

// TestShedConverges plays monitor rounds on a fleet and checks that loads
// end within one of each other and that a balanced fleet does not move.
func TestShedConverges(t *testing.T) {
	fleets := [][]int{{30, 0, 0, 0}, {100, 1, 0}, {7, 7, 7, 0, 0}, {1000, 0, 0}, {3, 3, 2}, {4, 4, 4, 0}, {10, 10, 10, 0},
		{3, 3, 3, 0}, {2, 2, 2, 2, 0}, {333, 333, 334, 0}, {1, 0, 0, 0}, {5, 5, 0, 0, 0, 0}}
	for _, counts := range fleets {
		nodes := make([]Node, len(counts))
		for i, c := range counts {
			nodes[i] = Node{ID: string(rune('a' + i)), Tasks: c}
		}
		for round := 0; round < 2; round++ {
			playRound(nodes)
		}
		target := Target(nodes)
		lo, hi := nodes[0].Tasks, nodes[0].Tasks
		for _, n := range nodes {
			if n.Tasks > target+1 {
				t.Errorf("fleet %v: node %s has %d tasks after two rounds, target %d", counts, n.ID, n.Tasks, target)
			}
			lo, hi = min(lo, n.Tasks), max(hi, n.Tasks)
		}
		if hi-lo > 1 {
			t.Errorf("fleet %v: loads %v still differ by %d after two rounds", counts, nodes, hi-lo)
		}
		again := 0
		for i := range nodes {
			again += len(Shed(nodes, nodes[i].ID))
		}
		if again != 0 {
			t.Errorf("fleet %v: balanced fleet %v would still move %d tasks", counts, nodes, again)
		}
	}
}

// TestShedRandomFleets plays monitor rounds on random fleets, MaxTasks
// included: every round with moves lowers the sum of the squared loads
// (no flapping), rounds end within a few, and at the end no node runs two
// tasks more than a node that has room.
func TestShedRandomFleets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for f := 0; f < 2000; f++ {
		nodes := make([]Node, 1+rng.IntN(8))
		for i := range nodes {
			nodes[i] = Node{ID: fmt.Sprint("n", i), Tasks: rng.IntN(40)}
			if rng.IntN(3) == 0 {
				nodes[i].MaxTasks = 1 + rng.IntN(30)
			}
		}
		start := fmt.Sprint(nodes)
		squares := func() int {
			s := 0
			for _, n := range nodes {
				s += n.Tasks * n.Tasks
			}
			return s
		}
		overMax := func() int {
			s := 0
			for _, n := range nodes {
				if n.MaxTasks > 0 {
					s += max(n.Tasks-n.MaxTasks, 0)
				}
			}
			return s
		}
		for round := 0; ; round++ {
			if round == 10 {
				t.Fatalf("fleet %s: still moving after 10 rounds: %v", start, nodes)
			}
			before, over := squares(), overMax()
			moves := playRound(nodes)
			if moves == 0 {
				break
			}
			// A node above its MaxTasks must shed wherever there is room;
			// otherwise every round evens the loads out.
			if over > 0 && overMax() >= over || over == 0 && squares() >= before {
				t.Fatalf("fleet %s: a round of %d moves made nothing better: %v", start, moves, nodes)
			}
		}
		for _, a := range nodes {
			for _, b := range nodes {
				if a.Tasks >= b.Tasks+2 && b.hasRoom() && (a.MaxTasks == 0 || a.Tasks <= a.MaxTasks) {
					t.Fatalf("fleet %s ends %v: %s runs %d, %s only %d and has room", start, nodes, a.ID, a.Tasks, b.ID, b.Tasks)
				}
			}
		}
	}
}
