package loadrun

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#include <stdlib.h>
#include "loadrun_plugin.h"
void lr_go_log(const lr_host_api *a, lr_host *h, int32_t level, const char *m, size_t n);
void lr_go_count(const lr_host_api *a, lr_host *h, const char *m, size_t n, uint64_t d);
int32_t lr_go_abort(const lr_host_api *a, lr_host *h, const char *m, size_t n);
int64_t lr_go_stop_left(const lr_host_api *a, lr_host *h);
lr_output *lr_go_from_handle(uintptr_t h);
uintptr_t lr_go_to_handle(lr_output *o);
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime/cgo"
	"strings"
	"time"
	"unsafe"
)

// Host is the host's services for one output; usable from any goroutine until Stop returns.
type Host struct {
	api  *C.lr_host_api
	host *C.lr_host
}

func cstr(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

func (h *Host) Log(level LogLevel, msg string) {
	if h == nil || h.api == nil {
		return
	}
	p, n := cstr(msg)
	C.lr_go_log(h.api, h.host, C.int32_t(level), p, n)
}

// Count adds n to a counter (CounterSamplesLost, CounterSamplesRejected, or the plugin's own).
func (h *Host) Count(name string, n uint64) {
	if h == nil || h.api == nil || n == 0 {
		return
	}
	p, l := cstr(name)
	C.lr_go_count(h.api, h.host, p, l, C.uint64_t(n))
}

// RequestAbort asks the host to stop the test; false unless the user allowed it (abortOnError).
func (h *Host) RequestAbort(reason string) bool {
	if h == nil || h.api == nil {
		return false
	}
	p, n := cstr(reason)
	return C.lr_go_abort(h.api, h.host, p, n) == 1
}

// StopTimeLeft is the time left before the host gives up on this output once it has begun
// stopping it; ok is false while the run goes on. Cap blocking work in Write by it.
func (h *Host) StopTimeLeft() (left time.Duration, ok bool) {
	if h == nil || h.api == nil {
		return 0, false
	}
	ms := int64(C.lr_go_stop_left(h.api, h.host))
	if ms < 0 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

type instance struct {
	out  Output
	host Host
}

func setMsg(m *C.lr_msg, s string) {
	if m == nil || m.buf == nil || m.cap == 0 {
		return
	}
	s = strings.Join(strings.Fields(s), " ")
	dst := unsafe.Slice((*byte)(unsafe.Pointer(m.buf)), int(m.cap))
	m.len = C.size_t(copy(dst, s))
}

// guard is the panic barrier at every entry: a Go panic must never reach the host.
func guard(what string, m *C.lr_msg, rc *C.int32_t) {
	if r := recover(); r != nil {
		setMsg(m, fmt.Sprintf("panicked in %s: %v", what, r))
		*rc = C.LR_FATAL
	}
}

func get(o *C.lr_output) *instance {
	return cgo.Handle(C.lr_go_to_handle(o)).Value().(*instance)
}

func str(s C.lr_str) string {
	if s.len == 0 {
		return ""
	}
	return C.GoStringN(s.ptr, C.int(s.len))
}

func kvs(p *C.lr_kv, n C.size_t) []KeyValue {
	if n == 0 {
		return nil
	}
	out := make([]KeyValue, 0, int(n))
	for _, kv := range unsafe.Slice(p, int(n)) {
		out = append(out, KeyValue{Key: str(kv.key), Value: str(kv.value)})
	}
	return out
}

var info *C.char

//export lrGoInfo
func lrGoInfo() (p *C.char) {
	defer func() {
		if r := recover(); r != nil {
			p = nil
		}
	}()
	if info == nil {
		s, err := infoJSON()
		if err != nil {
			return nil
		}
		info = C.CString(s) // for the life of the process, as the header requires
	}
	return info
}

//export lrGoNew
func lrGoNew(js *C.char, n C.size_t, out **C.lr_output, err *C.lr_msg) (rc C.int32_t) {
	defer guard("new_output", err, &rc)
	var init Init
	if e := json.Unmarshal(C.GoBytes(unsafe.Pointer(js), C.int(n)), &init); e != nil {
		setMsg(err, "unreadable init document: "+e.Error())
		return C.LR_FATAL
	}
	s := spec(init.Output)
	if s == nil || s.New == nil {
		setMsg(err, "this plugin does not provide output "+init.Output)
		return C.LR_FATAL
	}
	o, e := s.New(&init)
	if e != nil {
		setMsg(err, e.Error())
		return C.LR_FATAL
	}
	*out = C.lr_go_from_handle(C.uintptr_t(cgo.NewHandle(&instance{out: o})))
	return C.LR_OK
}

//export lrGoStart
func lrGoStart(o *C.lr_output, api *C.lr_host_api, host *C.lr_host, err *C.lr_msg) (rc C.int32_t) {
	defer guard("start", err, &rc)
	in := get(o)
	if api != nil && uintptr(api.struct_size) >= unsafe.Sizeof(C.lr_host_api{}) {
		in.host = Host{api: api, host: host}
	}
	if e := in.out.Start(&in.host); e != nil {
		setMsg(err, e.Error())
		return C.LR_FATAL
	}
	return C.LR_OK
}

//export lrGoWrite
func lrGoWrite(o *C.lr_output, b *C.lr_batch, retryAfter *C.int64_t, m *C.lr_msg) (rc C.int32_t) {
	defer guard("write", m, &rc)
	in := get(o)
	batch := Batch{}
	if b.metrics_len > 0 {
		for _, d := range unsafe.Slice(b.metrics, int(b.metrics_len)) {
			md := MetricDef{ID: uint32(d.id), Name: str(d.name), Type: MetricType(d.metric_type), Contains: ValueKind(d.contains)}
			if d.thresholds_len > 0 {
				for _, t := range unsafe.Slice(d.thresholds, int(d.thresholds_len)) {
					md.Thresholds = append(md.Thresholds, str(t))
				}
			}
			batch.Metrics = append(batch.Metrics, md)
		}
	}
	if b.series_len > 0 {
		for _, d := range unsafe.Slice(b.series, int(b.series_len)) {
			batch.Series = append(batch.Series, SeriesDef{
				ID: uint32(d.id), Metric: uint32(d.metric),
				Tags: kvs(d.tags, d.tags_len), Metadata: kvs(d.metadata, d.metadata_len),
			})
		}
	}
	if b.samples_len > 0 {
		batch.Samples = unsafe.Slice((*Sample)(unsafe.Pointer(b.samples)), int(b.samples_len))
	}
	st := in.out.Write(&batch)
	switch st.code {
	case 0:
		return C.LR_OK
	case 1:
		if st.retryAfter >= 0 {
			*retryAfter = C.int64_t(st.retryAfter / time.Millisecond)
		}
		setMsg(m, st.reason)
		return C.LR_RETRY
	default:
		setMsg(m, st.reason)
		return C.LR_FATAL
	}
}

//export lrGoFlush
func lrGoFlush(o *C.lr_output, timeoutMs C.uint64_t, err *C.lr_msg) (rc C.int32_t) {
	defer guard("flush", err, &rc)
	if e := get(o).out.Flush(time.Duration(timeoutMs) * time.Millisecond); e != nil {
		setMsg(err, e.Error())
		return C.LR_FATAL
	}
	return C.LR_OK
}

//export lrGoStop
func lrGoStop(o *C.lr_output, js *C.char, n C.size_t, timeoutMs C.uint64_t, err *C.lr_msg) (rc C.int32_t) {
	defer guard("stop", err, &rc)
	var outcome Outcome
	if e := json.Unmarshal(C.GoBytes(unsafe.Pointer(js), C.int(n)), &outcome); e != nil {
		setMsg(err, "unreadable outcome document: "+e.Error())
		return C.LR_FATAL
	}
	if e := get(o).out.Stop(&outcome, time.Duration(timeoutMs)*time.Millisecond); e != nil {
		setMsg(err, e.Error())
		return C.LR_FATAL
	}
	return C.LR_OK
}

//export lrGoDestroy
func lrGoDestroy(o *C.lr_output) {
	defer func() { _ = recover() }()
	cgo.Handle(C.lr_go_to_handle(o)).Delete()
}
