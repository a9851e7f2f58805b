// Package loadrun turns Go types into loadrun output plugins: a shared object built with
// `go build -buildmode=c-shared` that the loadrun host loads through its C face
// (loadrun_plugin.h), with the same queue, retries, quarantine, accounting and stop deadline
// as any other plugin.
//
// A plugin's main package registers its outputs in an init function and has an empty main:
//
//	func init() {
//		loadrun.Register(loadrun.Plugin{Name: "out_x", Version: "0.1.0", Outputs: []loadrun.OutputSpec{{
//			Name: "x", Description: "...", Options: []loadrun.Option{...},
//			New:  func(init *loadrun.Init) (loadrun.Output, error) { return &myOutput{}, nil },
//		}}})
//	}
//	func main() {}
//
// Standard library only. Every call into the plugin recovers a panic (it becomes an error, or a
// fatal write); the Go runtime is kept to GOMAXPROCS 2 unless GOMAXPROCS is set, so it does not
// compete with the load generator for every core.
package loadrun

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// Output is one running output instance. Calls come from one host thread, never concurrently.
type Output interface {
	// Start is called once, before any Write.
	Start(host *Host) error
	// Write takes a batch, which is borrowed for the call: copy what must outlive it.
	Write(batch *Batch) Status
	// Flush writes out anything buffered, within timeout.
	Flush(timeout time.Duration) error
	// Stop is the last call: write out everything within timeout.
	Stop(outcome *Outcome, timeout time.Duration) error
}

// Plugin is what a shared object provides: one or more outputs.
type Plugin struct {
	Name    string
	Version string
	Outputs []OutputSpec
}

// OutputSpec declares one output: its -o name, aliases, options and constructor.
type OutputSpec struct {
	Name        string
	Aliases     []string
	Description string
	// The option a bare `-o NAME=VALUE` sets ("" for none).
	Positional string
	Options    []Option
	// New builds an instance from the checked options. An error stops the run before it starts.
	New func(init *Init) (Output, error)
}

// Option declares one option; the host merges (default < plan < env < -o) and checks it.
type Option struct {
	Name    string
	Kind    Kind
	Aliases []string
	Env     []string
	// Default as a user would write it ("1s", "64KiB"); "" for none.
	Default string
	Doc     string
	Secret  bool
	NonZero bool
}

// Kind is an option's kind, as the host checks it.
type Kind struct {
	Type      string
	Min, Max  *float64
	Values    []string
	Separator string
}

var (
	String   = Kind{Type: "string"}
	Bool     = Kind{Type: "bool"}
	Duration = Kind{Type: "duration"}
	Size     = Kind{Type: "size"}
	URL      = Kind{Type: "url"}
)

func Int(min, max int64) Kind {
	lo, hi := float64(min), float64(max)
	return Kind{Type: "int", Min: &lo, Max: &hi}
}
func Float(min, max float64) Kind { return Kind{Type: "float", Min: &min, Max: &max} }
func Enum(values ...string) Kind  { return Kind{Type: "enum", Values: values} }
func List(separator rune) Kind    { return Kind{Type: "list", Separator: string(separator)} }

var registered struct {
	sync.Mutex
	plugin *Plugin
}

// Register declares the plugin; call it once, from an init function of the main package.
func Register(p Plugin) {
	registered.Lock()
	defer registered.Unlock()
	registered.plugin = &p
}

func spec(name string) *OutputSpec {
	registered.Lock()
	defer registered.Unlock()
	if registered.plugin == nil {
		return nil
	}
	for i := range registered.plugin.Outputs {
		o := &registered.plugin.Outputs[i]
		if o.Name == name {
			return o
		}
		for _, a := range o.Aliases {
			if a == name {
				return o
			}
		}
	}
	return nil
}

// infoJSON is the plugin's declaration in the host's format (loadrun_plugin.h, info_json).
func infoJSON() (string, error) {
	registered.Lock()
	defer registered.Unlock()
	p := registered.plugin
	if p == nil {
		return "", fmt.Errorf("the plugin registered nothing (call loadrun.Register in init)")
	}
	type kindJSON struct {
		Type      string   `json:"type"`
		Min       *float64 `json:"min,omitempty"`
		Max       *float64 `json:"max,omitempty"`
		Values    []string `json:"values,omitempty"`
		Separator string   `json:"separator,omitempty"`
	}
	type optionJSON struct {
		Name    string   `json:"name"`
		Kind    kindJSON `json:"kind"`
		Aliases []string `json:"aliases"`
		Env     []string `json:"env"`
		Default *string  `json:"default"`
		Doc     string   `json:"doc"`
		Secret  bool     `json:"secret"`
		NonZero bool     `json:"nonzero"`
	}
	type outputJSON struct {
		Name        string            `json:"name"`
		Aliases     []string          `json:"aliases"`
		Description string            `json:"description"`
		Positional  map[string]string `json:"positional"`
		Options     []optionJSON      `json:"options"`
	}
	outs := []outputJSON{}
	for _, o := range p.Outputs {
		oj := outputJSON{Name: o.Name, Aliases: nonNil(o.Aliases), Description: o.Description, Options: []optionJSON{}}
		if o.Positional != "" {
			oj.Positional = map[string]string{"value": o.Positional}
		}
		for _, op := range o.Options {
			var def *string
			if op.Default != "" {
				d := op.Default
				def = &d
			}
			oj.Options = append(oj.Options, optionJSON{
				Name: op.Name, Kind: kindJSON(op.Kind), Aliases: nonNil(op.Aliases), Env: nonNil(op.Env),
				Default: def, Doc: op.Doc, Secret: op.Secret, NonZero: op.NonZero,
			})
		}
		outs = append(outs, oj)
	}
	b, err := json.Marshal(map[string]any{"format": 1, "plugin": p.Name, "version": p.Version, "outputs": outs})
	return string(b), err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func init() {
	// The load generator owns the machine's cores; a Go runtime per plugin must not start a
	// GC worker on each of them.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2)
	}
}
