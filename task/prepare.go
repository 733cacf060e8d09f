package task

import (
	"encoding/json"
	"fmt"
)

// PrepareCommandConfig is what a producer (the CLI, the HTTP API) does with
// a task config before it XADDs a start command: it checks taskID, parses
// and validates raw (Parse: at most MaxConfigBytes, every limit), seals its
// passwords for taskID and their endpoints (Seal), and returns the JSON to
// put in the command's `config` field. So no plain password reaches the
// command stream when the producer has DATAINGEST_SECRET_KEY; without a key
// the passwords stay plain (the node cannot seal either). The node parses
// and seals it again on receipt, which keeps values sealed for this task
// and endpoint. The errors are those of ValidID, Parse and Seal; none shows
// a password.
func PrepareCommandConfig(s *Sealer, taskID string, raw []byte) (string, error) {
	if err := ValidID(taskID); err != nil {
		return "", err
	}
	c, err := Parse(raw)
	if err != nil {
		return "", err
	}
	sealed, err := s.Seal(taskID, c)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(sealed)
	if err != nil {
		return "", fmt.Errorf("encoding config of task %s: %w", taskID, err)
	}
	if len(b) > MaxConfigBytes {
		// The limits keep the largest valid config below this; see
		// TestLargestValidConfigFits.
		return "", invalid("", fmt.Sprintf("sealed task config is %d bytes, the most is %d", len(b), MaxConfigBytes))
	}
	return string(b), nil
}
