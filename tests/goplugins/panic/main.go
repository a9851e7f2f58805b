// A Go output that panics in the entry point named by its option `in`, to check that the Go
// SDK turns every panic into an error the host reports (tests/e2e/go_face.rs).
package main

import (
	"time"

	loadrun "github.com/loadrun/loadrun/plugin-api/go"
)

func init() {
	loadrun.Register(loadrun.Plugin{Name: "out_gopanic", Version: "0.1.0", Outputs: []loadrun.OutputSpec{{
		Name:        "gopanic",
		Description: "panics in the entry point named by `in`",
		Positional:  "in",
		Options: []loadrun.Option{{Name: "in", Kind: loadrun.Enum("new", "start", "write", "stop"),
			Default: "write", Doc: "where to panic"}},
		New: func(init *loadrun.Init) (loadrun.Output, error) {
			in, err := init.String("in")
			if err != nil {
				return nil, err
			}
			if in == "new" {
				panic("deliberate panic in new")
			}
			return &panicky{in: in}, nil
		},
	}}})
}

func main() {}

type panicky struct{ in string }

func (p *panicky) Start(*loadrun.Host) error {
	if p.in == "start" {
		panic("deliberate panic in start")
	}
	return nil
}

func (p *panicky) Write(b *loadrun.Batch) loadrun.Status {
	if p.in == "write" && len(b.Samples) > 0 {
		var m map[string]int
		m["nil map"]++ // a runtime error, not only an explicit panic
	}
	return loadrun.OK()
}

func (p *panicky) Flush(time.Duration) error { return nil }

func (p *panicky) Stop(*loadrun.Outcome, time.Duration) error {
	if p.in == "stop" {
		panic("deliberate panic in stop")
	}
	return nil
}
