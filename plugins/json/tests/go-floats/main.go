// Writes go-floats.txt, the oracle for the json and csv outputs' number formatting: Go's
// strconv.FormatFloat(v, 'g', -1, 64) (k6's json values) and (v, 'f', 6, 64) (k6's csv `%f`).
// Lines: `g|f <bits as hex> <text>`. Regenerate: `go run main.go > ../go-floats.txt`.
package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

func main() {
	state := uint64(0x2545f4914f6cdd1d)
	next := func() uint64 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return state
	}
	var g, f []float64
	// Every exponent: random bit patterns (NaN and Inf left to the unit tests).
	for len(g) < 1500 {
		v := math.Float64frombits(next())
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			g = append(g, v)
		}
	}
	// Around every power of ten, where the notation switches.
	for p := -325; p <= 308; p++ {
		x := math.Pow(10, float64(p))
		g = append(g, x, math.Nextafter(x, 0), math.Nextafter(x, math.Inf(1)), x*1.5)
	}
	// What a load test records: milliseconds from nanosecond durations (as the engine makes
	// them), byte counts, 0 and 1.
	for i := 0; i < 1500; i++ {
		ns := next() % 2_000_000_000
		if i%3 == 0 {
			ns %= 1_000_000
		}
		v := time.Duration(ns).Seconds() * 1000
		g = append(g, v)
		f = append(f, v)
	}
	for _, v := range []float64{0, 1, 90, 240, 1234, 65536, 999999, 1e6, 123456789, -0.5, -42.125} {
		g = append(g, v)
		f = append(f, v)
	}
	// %f: random values below 1e7 (its fast path) and beyond, and exact binary ties at the
	// seventh decimal (k/128), which Go rounds half to even.
	for i := 0; i < 1500; i++ {
		f = append(f, float64(next()%10_000_000_000_000)/float64(uint64(1)<<(next()%40)))
	}
	for k := 1; k < 400; k += 2 {
		f = append(f, float64(k)/128, float64(k)/128+1000, float64(k)/1024)
	}
	f = append(f, 1e12+0.5, 4.5e15, 1e21, 1e-7, 5e-7, 5.000001e-7, math.MaxFloat64, 5e-324)
	for _, v := range g {
		fmt.Printf("g %016x %s\n", math.Float64bits(v), strconv.FormatFloat(v, 'g', -1, 64))
	}
	for _, v := range f {
		fmt.Printf("f %016x %s\n", math.Float64bits(v), strconv.FormatFloat(v, 'f', 6, 64))
	}
}
