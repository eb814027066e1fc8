package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Targets the issue sets for Sluice.
const (
	targetPublish        = 0.8 // of raw franz-go records/s at 1 KiB
	targetPublishAvro    = 0.6 // of raw franz-go records/s with Avro validation
	targetFanout         = 0.8 // of the bare broadcast server's deliveries/s
	targetFanoutP99Milli = 10  // p99 produce→socket at 10,000 records/s to 1,000 sockets
)

// orderSchema is compose/schemas/orders-value.avsc, the demo's ten-field
// Avro record, which the schema scenario governs its topic with.
const orderSchema = `{"type":"record","name":"Order","namespace":"io.sluice.demo","fields":[
{"name":"id","type":"string"},
{"name":"amount","type":"double"},
{"name":"currency","type":"string","default":"EUR"},
{"name":"created_at","type":{"type":"long","logicalType":"timestamp-millis"}},
{"name":"status","type":{"type":"enum","name":"OrderStatus","symbols":["NEW","PAID","SHIPPED","CANCELLED"]},"default":"NEW"},
{"name":"quantity","type":"long"},
{"name":"tags","type":{"type":"array","items":"string"},"default":[]},
{"name":"attributes","type":{"type":"map","values":"string"},"default":{}},
{"name":"note","type":["null","string"],"default":null},
{"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null}]}}]}`

// orderValue is a valid order whose note pads the JSON to size bytes.
func orderValue(size int) []byte {
	const head = `{"id":"o-1","amount":12.5,"created_at":1732000000000,"quantity":2,"customer":{"name":"Ann"},"note":"`
	n := max(0, size-len(head)-2)
	return []byte(head + strings.Repeat("x", n) + `"}`)
}

func selfPID() int { return os.Getpid() }

// runScenario sets up the environment, runs o.scenario and tears down.
func runScenario(ctx context.Context, o options, log io.Writer) (*result, error) {
	e, err := newEnv(ctx, o, log)
	if err != nil {
		return nil, err
	}
	defer e.close()
	pr := newProgress(log, o.progress)
	d := newDialer(o.sourceAddrs)
	kafkaPID := o.kafkaPID
	if e.broker != nil {
		kafkaPID = descendantNamed(selfPID(), "java")
	}
	meterFor := func(name string, pid int) func() *cpuMeter {
		return func() *cpuMeter {
			return newCPUMeter(map[string]int{name: pid, "kafka": kafkaPID, "bench": selfPID()})
		}
	}

	extra := ""
	govTopic := ""
	if o.scenario == "schema" {
		govTopic = topicName("avro")
		schema, _ := json.Marshal(orderSchema)
		extra = fmt.Sprintf("registry:\n  kind: inline\n  subjects:\n    %s-value: {type: avro, schema: %s}\n", govTopic, schema)
	}
	var sluiceProcs, dialProcs int
	if o.scenario == "connections" {
		// One process holds at most RLIMIT_NOFILE sockets; the kernel
		// spreads connections over Sluices unevenly, so each is planned
		// at four fifths of what it can hold.
		perProc := max(1000, int(e.noFile)-fdHeadroom)
		sluiceProcs = cmp.Or(o.sluiceProcs, ceilDiv(o.sockets, perProc*4/5))
		dialProcs = cmp.Or(o.dialProcs, ceilDiv(o.sockets, perProc))
	}
	procs, err := e.sluices(ctx, o.scenario, extra, sluiceProcs)
	if err != nil {
		return nil, err
	}
	defer stopAll(procs)
	sl := procs[0]
	res := newResult(o, e, sl.addr)
	if sl.cmd != nil {
		if lim := childNoFile(sl.pid); lim != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("RLIMIT_NOFILE: bench %d, sluice child %s", e.noFile, lim))
		}
	}
	sluiceMeter := meterFor("sluice", sl.pid)

	switch o.scenario {
	case "publish":
		value := paddedJSON("", o.size)
		var perRound []float64
		for round := 1; round <= o.rounds; round++ {
			topic, rawTopic := topicName("publish"), topicName("publish-raw")
			if err := e.createTopics(ctx, o.partitions, topic, rawTopic); err != nil {
				return nil, err
			}
			viaSluice := func() (runResult, error) {
				return publishViaSluice(ctx, o, sl, d, topic, value, roundName("sluice", round, o.rounds), pr, sluiceMeter)
			}
			raw := func() (runResult, error) {
				return publishRaw(ctx, o, e.brokers, rawTopic, value, roundName("franz-go", round, o.rounds), pr, meterFor("sluice", 0))
			}
			runs, err := alternate(round, o.baseline, viaSluice, raw)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, runs...)
			if len(runs) == 2 {
				perRound = append(perRound, safeRatio(runs[0].RecordsPerSec, runs[1].RecordsPerSec))
			}
		}
		if o.baseline {
			res.Ratios = append(res.Ratios, medianRatio("sluice/franz-go records/s", perRound, targetPublish))
		}
	case "schema":
		value := orderValue(o.size)
		if err := e.createTopics(ctx, o.partitions, govTopic); err != nil {
			return nil, err
		}
		var govPerRound, rawPerRound []float64
		for round := 1; round <= o.rounds; round++ {
			plainTopic, rawTopic := topicName("plain"), topicName("avro-raw")
			if err := e.createTopics(ctx, o.partitions, plainTopic, rawTopic); err != nil {
				return nil, err
			}
			plain, err := publishViaSluice(ctx, o, sl, d, plainTopic, value, roundName("sluice-plain", round, o.rounds), pr, sluiceMeter)
			if err != nil {
				return nil, err
			}
			gov, err := publishViaSluice(ctx, o, sl, d, govTopic, value, roundName("sluice-avro", round, o.rounds), pr, sluiceMeter)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, plain, gov)
			govPerRound = append(govPerRound, safeRatio(gov.RecordsPerSec, plain.RecordsPerSec))
			if gov.Errors > 0 && gov.Records == 0 {
				return res, fmt.Errorf("every governed publish failed: %s", gov.FirstError)
			}
			if o.baseline {
				raw, err := publishRaw(ctx, o, e.brokers, rawTopic, value, roundName("franz-go", round, o.rounds), pr, meterFor("sluice", 0))
				if err != nil {
					return nil, err
				}
				res.Runs = append(res.Runs, raw)
				rawPerRound = append(rawPerRound, safeRatio(gov.RecordsPerSec, raw.RecordsPerSec))
			}
		}
		res.Ratios = append(res.Ratios, medianRatio("sluice-avro/sluice-plain records/s (cost of governance)", govPerRound, 0))
		if o.baseline {
			res.Ratios = append(res.Ratios, medianRatio("sluice-avro/franz-go records/s", rawPerRound, targetPublishAvro))
		}
	case "fanout":
		topic := topicName("fanout")
		if err := e.createTopics(ctx, 1, topic); err != nil {
			return nil, err
		}
		r, err := fanoutPhase(ctx, o, sl.wsURL(), d, e.brokers, topic, "sluice", pr, sluiceMeter)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, r)
		res.Notes = append(res.Notes, fmt.Sprintf("sluice p99 produce→socket %.3f ms at %d records/s to %d sockets (target ≤ %d ms at 10,000 records/s to 1,000 sockets)",
			r.Latency.P99, o.rate, r.Sockets, targetFanoutP99Milli))
		if o.baseline {
			if sl.cmd != nil {
				sl.stop() // free its CPU and memory for the baseline
			}
			bp, err := startBroadcast(ctx, o, e.brokers, topic)
			if err != nil {
				return nil, err
			}
			defer bp.stop()
			bare, err := fanoutPhase(ctx, o, "ws://"+bp.addr+"/", d, e.brokers, topic, "bare-broadcast", pr, meterFor("broadcast", bp.pid()))
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, bare)
			res.Ratios = append(res.Ratios, newRatio("sluice/bare-broadcast deliveries/s", r.DeliveriesPerSec, bare.DeliveriesPerSec, targetFanout))
		}
	case "connections":
		topic := topicName("conns")
		if err := e.createTopics(ctx, 1, topic); err != nil {
			return nil, err
		}
		c, err := connectionsScenario(ctx, o, procs, dialProcs, d, topic, pr)
		if err != nil {
			return nil, err
		}
		res.Connections = c
	}
	return res, nil
}

// fdHeadroom is the file descriptors a process keeps for other than the
// scenario's sockets (Kafka, listeners, files).
const fdHeadroom = 1000

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// roundName names a phase of round round of rounds ("sluice", "sluice#2").
func roundName(name string, round, rounds int) string {
	if rounds == 1 {
		return name
	}
	return fmt.Sprintf("%s#%d", name, round)
}

// alternate runs Sluice's phase and, with baseline, the baseline's, in
// turns: Sluice first in odd rounds, the baseline first in even ones, so a
// machine that speeds up or slows down during a run favours neither. The
// result lists Sluice's run first.
func alternate(round int, baseline bool, sluice, base func() (runResult, error)) ([]runResult, error) {
	if !baseline {
		r, err := sluice()
		return []runResult{r}, err
	}
	first, second := sluice, base
	if round%2 == 0 {
		first, second = base, sluice
	}
	a, err := first()
	if err != nil {
		return nil, err
	}
	b, err := second()
	if err != nil {
		return nil, err
	}
	if round%2 == 0 {
		a, b = b, a
	}
	return []runResult{a, b}, nil
}

// childNoFile reads "Max open files" of pid from /proc/<pid>/limits.
func childNoFile(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return "soft " + f[0] + ", hard " + f[1]
			}
		}
	}
	return ""
}
