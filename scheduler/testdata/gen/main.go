// Command taprgen prints reference vectors for tapr's scheduler schedule parsing, computed by the code Dapr v1.17.5's
// scheduler runs: github.com/dapr/kit/cron (the parser the scheduler configures) and
// github.com/diagridio/go-etcd-cron/internal/scheduler (Builder.Parse validates a job and fixes its begin and
// expiration; Builder.Schedule + Interface.Next give the trigger times). The trigger loop below follows the logic of
// internal/counter/counter.go (updateNext on every tick, TriggerSuccess between ticks).
//
// Run from this directory: TZ=UTC GOFLAGS=-mod=mod go run . > ../schedules.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"time"
	"unsafe"

	"github.com/dapr/kit/cron"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/diagridio/go-etcd-cron/api"
	"github.com/diagridio/go-etcd-cron/internal/scheduler"
)

// From github.com/dapr/dapr@v1.17.5/go.sum.
const (
	cronModule  = "github.com/diagridio/go-etcd-cron"
	cronVersion = "v0.12.4"
	cronH1      = "h1:pc0Jk0M5MjrQ7uGydYuX93dKzWfulInA8XAh+i7GQFI="
	cronDir     = "go-etcd-cron-v0.12.4"
	triggersN   = 5
)

// builderMirror has scheduler.Builder's layout; checkBuilderLayout proves it before it is used to swap the real clock
// for a fake one (Builder.Parse reads "now" from it) and to read the parser the scheduler configures.
type builderMirror struct {
	clock  clock.Clock
	parser cron.Parser
}

func checkBuilderLayout() {
	real := reflect.TypeOf(scheduler.Builder{})
	mirror := reflect.TypeOf(builderMirror{})
	if real.NumField() != mirror.NumField() || real.Size() != mirror.Size() {
		panic("scheduler.Builder layout changed")
	}
	for i := 0; i < real.NumField(); i++ {
		r, m := real.Field(i), mirror.Field(i)
		if r.Name != m.Name || r.Type != m.Type || r.Offset != m.Offset {
			panic(fmt.Sprintf("scheduler.Builder field %d is %s %s, mirror has %s %s", i, r.Name, r.Type, m.Name, m.Type))
		}
	}
}

func newBuilder(now time.Time) (*scheduler.Builder, cron.Parser) {
	b := scheduler.NewBuilder()
	m := (*builderMirror)(unsafe.Pointer(b))
	m.clock = clocktesting.NewFakeClock(now)
	return b, m.parser
}

// checkCronModule verifies the replaced directory is byte-for-byte the module Dapr's go.sum pins.
func checkCronModule() {
	f, err := os.CreateTemp("", "go-etcd-cron-*.zip")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	if err := modzip.CreateFromDir(f, module.Version{Path: cronModule, Version: cronVersion}, cronDir); err != nil {
		panic(err)
	}
	f.Close()
	h, err := dirhash.HashZip(f.Name(), dirhash.Hash1)
	if err != nil {
		panic(err)
	}
	if h != cronH1 {
		panic(fmt.Sprintf("%s is not %s@%s: hash %s, go.sum has %s", cronDir, cronModule, cronVersion, h, cronH1))
	}
}

func format(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

type cronCase struct {
	Spec  string   `json:"spec"`
	From  string   `json:"from"`
	Next  []string `json:"next,omitempty"`
	Error string   `json:"error,omitempty"`
	Panic string   `json:"panic,omitempty"`
}

func runCron(spec, from string) (c cronCase) {
	c = cronCase{Spec: spec, From: from}
	defer func() {
		if r := recover(); r != nil {
			c.Panic = fmt.Sprint(r)
		}
	}()
	_, parser := newBuilder(time.Unix(0, 0))
	s, err := parser.Parse(spec)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	t := mustTime(from)
	for i := 0; i < triggersN; i++ {
		t = s.Next(t)
		c.Next = append(c.Next, format(t))
	}
	return c
}

type jobIn struct {
	Schedule *string `json:"schedule,omitempty"`
	DueTime  *string `json:"dueTime,omitempty"`
	TTL      *string `json:"ttl,omitempty"`
	Repeats  *uint32 `json:"repeats,omitempty"`
}

type jobCase struct {
	Comment    string   `json:"comment,omitempty"`
	Now        string   `json:"now"`
	Job        jobIn    `json:"job"`
	Error      string   `json:"error,omitempty"`
	Begin      string   `json:"begin,omitempty"` // "start" (clock starts, no trigger) or "dueTime" (first trigger)
	BeginAt    string   `json:"beginAt,omitempty"`
	Expiration string   `json:"expiration,omitempty"`
	Triggers   []string `json:"triggers,omitempty"`
	// Ended is true when the job would be deleted after the listed triggers (repeats used up, no next time, or the
	// next time is after the expiration); false when it still had triggers left after triggersN.
	Ended bool `json:"ended"`
}

func runJob(comment, now string, in jobIn) jobCase {
	c := jobCase{Comment: comment, Now: now, Job: in}
	b, _ := newBuilder(mustTime(now))
	job := &api.Job{Schedule: in.Schedule, DueTime: in.DueTime, Ttl: in.TTL, Repeats: in.Repeats}
	stored, err := b.Parse(job)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	if stored.GetStart() != nil {
		c.Begin, c.BeginAt = "start", format(stored.GetStart().AsTime())
	}
	if stored.GetDueTime() != nil {
		c.Begin, c.BeginAt = "dueTime", format(stored.GetDueTime().AsTime())
	}
	if stored.GetExpiration() != nil {
		c.Expiration = format(stored.GetExpiration().AsTime())
	}
	sched, err := b.Schedule(stored)
	if err != nil {
		c.Error = "Schedule: " + err.Error()
		return c
	}

	// internal/counter/counter.go: count starts at 0 with no LastTrigger.
	var count uint32
	var last *timestamppb.Timestamp
	for {
		// updateNext
		if stored.GetJob().Repeats != nil && count >= stored.GetJob().GetRepeats() {
			c.Ended = true
			break
		}
		next := sched.Next(count, last)
		if next == nil {
			c.Ended = true
			break
		}
		if stored.Expiration != nil && next.After(stored.GetExpiration().AsTime()) {
			c.Ended = true
			break
		}
		if len(c.Triggers) == triggersN {
			break
		}
		c.Triggers = append(c.Triggers, format(*next))
		// TriggerSuccess
		if lt := sched.Next(count, last); lt != nil {
			last = timestamppb.New(*lt)
		}
		count++
	}
	return c
}

func s(v string) *string { return &v }
func u(v uint32) *uint32 { return &v }

func main() {
	checkBuilderLayout()
	checkCronModule()

	fromDefault := []string{"2026-01-31T23:59:58Z", "2028-02-28T23:59:59.999999999Z"}
	type spec struct {
		spec string
		from []string
	}
	specs := []spec{
		// six fields: second minute hour day-of-month month day-of-week
		{"* * * * * *", nil},
		{"*/15 * * * * *", nil},
		{"0 * * * * *", nil},
		{"30 0 0 * * *", nil},
		{"0,30 * * * * *", nil},
		{"0,,30 * * * * *", nil},
		{"5-10/2 * * * * *", nil},
		{"1/20 * * * * *", nil},
		{"*/1 * * * * *", nil},
		{"*-5 * * * * *", nil},
		{"? ? ? ? ? ?", nil},
		{"0 0 0 1 * *", nil},
		{"0 0 0 31 * *", nil},
		{"0 0 0 29 2 *", []string{"2026-01-31T23:59:58Z", "2028-02-29T00:00:00Z", "2096-03-01T00:00:00Z"}},
		{"0 0 0 30 2 *", nil},
		{"0 0 0 29 2 1", nil},
		{"0 0 12 * * MON-FRI", nil},
		{"0 0 12 * * mon,Wed,FRI", nil},
		{"0 0 0 * JAN,jul *", nil},
		{"0 0 0 * Jan-Mar *", nil},
		{"0 0 0 * * SUN", nil},
		{"0 0 0 * * 0-6/3", nil},
		{"0 0 0 1-7 * MON", nil},
		{"0 0 0 1-7 * *", nil},
		{"0 0 0 1-7 * ?", nil},
		{"0 0 0 ? * MON", nil},
		{"0 0 0 */1 * MON", nil},
		{"0 0 0 */2 * MON", nil},
		{"0 0 0 1/2 * *", nil},
		{"0 59 23 L * *", nil},
		{"0 0 0 * * 7", nil},
		{"0 0 0 * * MON-SUN", nil},
		{"60 * * * * *", nil},
		{"0 60 * * * *", nil},
		{"0 0 24 * * *", nil},
		{"0 0 0 0 * *", nil},
		{"0 0 0 32 * *", nil},
		{"0 0 0 * 0 *", nil},
		{"0 0 0 * 13 *", nil},
		{"0 0 0 * * 1-", nil},
		{"-1 * * * * *", nil},
		{"*/0 * * * * *", nil},
		{"10-5 * * * * *", nil},
		{"1-2-3 * * * * *", nil},
		{"1/2/3 * * * * *", nil},
		{"*/x * * * * *", nil},
		{"0 0 0 * FOO *", nil},
		{"  0  0\t0 * * *  ", nil},
		{"+5 * * * * *", nil},
		{"99999999999999999999 * * * * *", nil},
		{"9223372036854775807 * * * * *", nil},
		{"*/-1 * * * * *", nil},
		{"*-a-b * * * * *", nil},
		{"*/99999 * * * * *", nil},
		{"0 0 0 , * *", nil},
		{"0 0 0 * * Sun-Sat", nil},
		{"0 0 0 1-31/10 * *", nil},
		{"0 0 0 * * \u00e9", nil},
		{"* * * * *", nil},
		{"0 0 0 * * * *", nil},
		{"", nil},
		{"   ", nil},
		// descriptors
		{"@yearly", nil},
		{"@annually", nil},
		{"@monthly", nil},
		{"@weekly", nil},
		{"@daily", nil},
		{"@midnight", nil},
		{"@hourly", nil},
		{"@Yearly", nil},
		{"@reboot", nil},
		{"@every 1s", nil},
		{"@every 10s", nil},
		{"@every 1h30m", nil},
		{"@every 1.5s", nil},
		{"@every 100ms", nil},
		{"@every 1500us", nil},
		{"@every 3µs", nil},
		{"@every 1ns", nil},
		{"@every 0s", nil},
		{"@every 0", nil},
		{"@every -1m", nil},
		{"@every +2m", nil},
		{"@every 720h", nil},
		{"@every 2562047h47m16.854775807s", []string{"2026-01-31T23:59:58Z"}},
		{"@every 2562048h", nil},
		{"@every 1d", nil},
		{"@every 1", nil},
		{"@every .s", nil},
		{"@every 1.s", nil},
		{"@every .5m", nil},
		{"@every 1h-1m", nil},
		{"@every", nil},
		{"@every ", nil},
		{"@every  1s", nil},
		{"@every 1s ", nil},
		// forms the scheduler does not accept as a schedule (daprd converts reminder periods before sending)
		{"PT10S", nil},
		{"R5/PT10S", nil},
		{"10s", nil},
		{"1h", nil},
		// time zones
		{"TZ=UTC 0 0 0 * * *", nil},
		{"TZ= 0 0 0 * * *", nil},
		{"TZ=Local 0 0 0 * * *", nil},
		{"TZ=America/New_York 0 30 2 * * *", []string{"2026-03-07T12:00:00Z", "2026-10-31T12:00:00Z"}},
		{"TZ=America/New_York 0 0 0 * * *", []string{"2026-03-07T12:00:00Z", "2026-10-30T12:00:00Z"}},
		{"CRON_TZ=Europe/London 0 30 1 * * *", []string{"2026-03-28T00:00:00Z", "2026-10-24T00:00:00Z"}},
		{"TZ=Asia/Kolkata 0 0 9 * * MON-FRI", []string{"2026-01-31T23:59:58Z"}},
		{"TZ=Australia/Lord_Howe 0 0 * * * *", []string{"2026-04-04T14:00:00Z"}},
		{"TZ=America/New_York @daily", []string{"2026-01-31T23:59:58Z"}},
		{"TZ=America/New_York @every 1h", []string{"2026-01-31T23:59:58Z"}},
		{"TZ=Bad/Zone 0 0 0 * * *", nil},
		{"TZ=../etc 0 0 0 * * *", nil},
		{"TZ=UTC  @hourly", nil},
		{"TZ=America/New_York", nil},
	}

	cronCases := []cronCase{}
	for _, sp := range specs {
		from := sp.from
		if from == nil {
			from = fromDefault
		}
		for _, f := range from {
			cronCases = append(cronCases, runCron(sp.spec, f))
		}
	}

	const now = "2026-01-31T23:59:58Z"
	const nowNs = "2026-03-15T10:20:30.123456789Z"
	type jc struct {
		comment string
		now     string
		job     jobIn
	}
	jobs := []jc{
		{"schedule only: the clock starts at creation, which does not trigger", now, jobIn{Schedule: s("@every 10s")}},
		{"", nowNs, jobIn{Schedule: s("@every 10s")}},
		{"cron schedule from creation", now, jobIn{Schedule: s("0 0 0 * * *")}},
		{"cron drops the creation time's fraction", nowNs, jobIn{Schedule: s("*/20 * * * * *")}},
		{"month ends", now, jobIn{Schedule: s("0 0 0 31 * *")}},
		{"never matches: Next returns Go's zero time, which the scheduler does not treat as the end", now, jobIn{Schedule: s("0 0 0 30 2 *")}},
		{"", now, jobIn{Schedule: s("")}},
		{"", now, jobIn{Schedule: s("* * * * *")}},
		{"", now, jobIn{Schedule: s("PT10S")}},
		{"", now, jobIn{Schedule: s("R5/PT10S")}},
		// due time only: one shot
		{"one shot at an RFC 3339 time", now, jobIn{DueTime: s("2026-02-01T00:00:00Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00.123456789+02:00")}},
		{"due time in the past still triggers once", now, jobIn{DueTime: s("2020-01-01T00:00:00Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T1:02:03Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00,5Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00+24:00")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00-23:59")}},
		{"", now, jobIn{DueTime: s("2026-02-29T00:00:00Z")}},
		{"", now, jobIn{DueTime: s("2028-02-29T00:00:00Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:60Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01t00:00:00z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00")}},
		{"", now, jobIn{DueTime: s("2026-02-01 00:00:00Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00.Z")}},
		{"", now, jobIn{DueTime: s("2026-02-01T00:00:00.1234567891234Z")}},
		{"", now, jobIn{DueTime: s("0000-01-01T00:00:00Z")}},
		{"Go durations are relative to creation", now, jobIn{DueTime: s("10s")}},
		{"", nowNs, jobIn{DueTime: s("1.5s")}},
		{"", now, jobIn{DueTime: s("-10s")}},
		{"", now, jobIn{DueTime: s("0")}},
		{"", now, jobIn{DueTime: s("1d")}},
		{"ISO 8601 durations are relative to creation", now, jobIn{DueTime: s("PT10S")}},
		{"", now, jobIn{DueTime: s("P1D")}},
		{"AddDate normalises: Jan 31 + 1 month = Mar 3", now, jobIn{DueTime: s("P1M")}},
		{"", now, jobIn{DueTime: s("P1Y")}},
		{"", now, jobIn{DueTime: s("P1W")}},
		{"", now, jobIn{DueTime: s("P1Y2M3W4DT5H6M7S")}},
		{"", now, jobIn{DueTime: s("P1MT2M")}},
		{"", now, jobIn{DueTime: s("PT1H1H")}},
		{"", now, jobIn{DueTime: s("P2Y1Y")}},
		{"", now, jobIn{DueTime: s("P-1D")}},
		{"", now, jobIn{DueTime: s("P+1D")}},
		{"", now, jobIn{DueTime: s("PT36H")}},
		{"", now, jobIn{DueTime: s("P1X")}},
		{"", now, jobIn{DueTime: s("PT")}},
		{"", now, jobIn{DueTime: s("P1")}},
		{"", now, jobIn{DueTime: s("P")}},
		{"", now, jobIn{DueTime: s("P1DT")}},
		{"", now, jobIn{DueTime: s("P1T1H")}},
		{"", now, jobIn{DueTime: s("PT1D")}},
		{"", now, jobIn{DueTime: s("P1H")}},
		{"", now, jobIn{DueTime: s("P1.5D")}},
		{"", now, jobIn{DueTime: s("pt10s")}},
		{"", now, jobIn{DueTime: s("R5/PT10S")}},
		{"", now, jobIn{DueTime: s("R/PT10S")}},
		{"", now, jobIn{DueTime: s("R0/PT1S")}},
		{"", now, jobIn{DueTime: s("R-1/PT1S")}},
		{"", now, jobIn{DueTime: s("R5")}},
		{"", now, jobIn{DueTime: s("")}},
		{"", now, jobIn{DueTime: s("tomorrow")}},
		// schedule and due time
		{"first trigger at the due time, then the schedule from there", now, jobIn{Schedule: s("@every 1m"), DueTime: s("2026-02-01T00:00:30Z")}},
		{"the due time need not match the cron", now, jobIn{Schedule: s("0 0 0 * * *"), DueTime: s("2026-02-01T12:34:56.5Z")}},
		{"", now, jobIn{Schedule: s("@every 1h"), DueTime: s("30m")}},
		{"", now, jobIn{Schedule: s("@every 1h"), DueTime: s("P1D")}},
		{"", now, jobIn{Schedule: s("bad"), DueTime: s("bad")}},
		// repeats
		{"", now, jobIn{Schedule: s("@every 1s"), Repeats: u(3)}},
		{"", now, jobIn{Schedule: s("@every 1s"), Repeats: u(1)}},
		{"", now, jobIn{Schedule: s("@every 1s"), DueTime: s("5s"), Repeats: u(2)}},
		{"", now, jobIn{Schedule: s("@every 1s"), Repeats: u(0)}},
		{"", now, jobIn{Schedule: s("bad"), Repeats: u(0)}},
		{"", now, jobIn{DueTime: s("10s"), Repeats: u(1)}},
		{"", now, jobIn{DueTime: s("10s"), Repeats: u(2)}},
		{"", now, jobIn{DueTime: s("10s"), Repeats: u(0)}},
		{"", now, jobIn{Schedule: s("R5/PT10S"), Repeats: u(5)}},
		// ttl
		{"expiration is inclusive: a trigger at the expiration still fires", now, jobIn{Schedule: s("@every 10s"), TTL: s("30s")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("25s")}},
		{"a relative ttl counts from the due time when there is one", now, jobIn{Schedule: s("@every 10s"), DueTime: s("1m"), TTL: s("30s")}},
		{"", now, jobIn{Schedule: s("@every 10s"), DueTime: s("1m"), TTL: s("0s")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("2026-02-01T00:00:20Z")}},
		{"", now, jobIn{Schedule: s("0 0 0 * * *"), TTL: s("P3D")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("PT20S"), Repeats: u(5)}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("PT50S"), Repeats: u(2)}},
		{"a ttl already past is accepted without a due time; the job never triggers", now, jobIn{Schedule: s("@every 10s"), TTL: s("-1s")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("5s")}},
		{"", now, jobIn{Schedule: s("@every 10s"), DueTime: s("2026-02-02T00:00:00Z"), TTL: s("2026-02-01T00:00:00Z")}},
		{"", now, jobIn{Schedule: s("@every 10s"), DueTime: s("2026-02-02T00:00:00Z"), TTL: s("2026-02-02T00:00:00Z")}},
		{"", now, jobIn{Schedule: s("@every 10s"), DueTime: s("1m"), TTL: s("-1s")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("bogus")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("R2/PT1S")}},
		{"", now, jobIn{Schedule: s("@every 10s"), TTL: s("")}},
		{"", now, jobIn{DueTime: s("10s"), TTL: s("1h")}},
		{"", now, jobIn{Schedule: s("@every 1s"), DueTime: s("bad"), TTL: s("bad")}},
		// nothing
		{"", now, jobIn{}},
		{"", now, jobIn{TTL: s("1h")}},
		{"", now, jobIn{Repeats: u(3)}},
		// time zones through the job path
		{"", now, jobIn{Schedule: s("TZ=America/New_York 0 0 9 * * *"), Repeats: u(3)}},
	}
	jobCases := []jobCase{}
	for _, j := range jobs {
		jobCases = append(jobCases, runJob(j.comment, j.now, j.job))
	}

	out := map[string]any{
		"generatedBy": "scheduler/testdata/gen (go run .)",
		"go":          runtime.Version(),
		"modules": map[string]string{
			"github.com/dapr/dapr":              "v1.17.5",
			"github.com/dapr/kit":               "v0.17.0",
			"github.com/diagridio/go-etcd-cron": cronVersion + " " + cronH1,
		},
		"triggersPerCase": triggersN,
		"cron":            cronCases,
		"jobs":            jobCases,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
