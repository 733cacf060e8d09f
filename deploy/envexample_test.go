package deploy

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/dataingest/dataingest/config"
)

// TestEnvExampleListsEveryVariable: dataingest.env.example names every
// variable the node reads, and no DATAINGEST_ variable it does not.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("dataingest.env.example")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^#?(DATAINGEST_[A-Z_]+)=`).FindAllStringSubmatch(string(b), -1) {
		listed = append(listed, m[1])
	}
	known := configNames(reflect.TypeOf(config.Config{}))
	for _, name := range known {
		if !slices.Contains(listed, name) {
			t.Errorf("dataingest.env.example does not list %s", name)
		}
	}
	for _, name := range listed {
		if !slices.Contains(known, name) {
			t.Errorf("dataingest.env.example lists %s, which the node does not read", name)
		}
	}
}
