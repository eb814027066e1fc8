package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// maxJSONDepth bounds nesting in a client frame, so a hostile frame cannot
// exhaust the stack.
const maxJSONDepth = 256

// parseInbound decodes a client frame into in in one pass. It is the hot
// path of every publish: the frame is scanned once, the envelope's string
// fields are read in place, and "value" is kept as a sub-slice of data (the
// caller must not reuse data). A publish's value is only delimited, not
// checked (in.valueUnchecked): an Avro encoder that parses it in full
// checks it anyway, so a governed publish is scanned for validity once;
// everything else calls checkValue. A "value" inside "records", or in any
// op but publish, is checked here. Rare, structured fields ("from",
// "headers", "filter") go through encoding/json on their own bytes.
// Unknown fields are ignored and a repeated field keeps its last value, as
// with encoding/json.
func parseInbound(data []byte, in *inbound) error {
	p := jsonScanner{data: data}
	p.ws()
	if p.i >= len(p.data) || p.data[p.i] != '{' {
		return p.fail("frame must be a JSON object")
	}
	// A loop rather than members' callback: a closure would capture in
	// and move every frame's inbound to the heap.
	if err := p.objectStart(0); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, done, err := p.nextKey(first)
		if err != nil {
			return err
		}
		if done {
			break
		}
		start := p.i
		if string(key) == "value" {
			// A publish's value is only delimited here; it is checked
			// once, later, by whichever reads it in full (checkValue).
			// One that a repeated "value" replaces is checked now.
			if in.valueUnchecked {
				if err := checkValue(in.Value); err != nil {
					return err
				}
			}
			if err := p.skimValue(); err != nil {
				return err
			}
			in.valueUnchecked = true
		} else if err := p.skip(1); err != nil {
			return err
		}
		if err := in.set(key, data[start:p.i]); err != nil {
			return err
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if in.valueUnchecked && in.Op != "publish" {
		in.valueUnchecked = false // only a publish defers checking its value
		return checkValue(in.Value)
	}
	return nil
}

// set assigns one top-level field from its raw JSON. key is compared
// without converting it to a string, so no field name is allocated.
func (in *inbound) set(keyBytes []byte, raw []byte) error {
	var err error
	switch key := string(keyBytes); key {
	case "op":
		in.Op, err = opField(raw)
	case "id":
		in.ID, err = stringField(key, raw)
	case "topic":
		if in.knownTopic != "" && isPlainString(raw, in.knownTopic) {
			in.Topic = in.knownTopic // the string already held, not a new one
			break
		}
		in.Topic, err = stringField(key, raw)
	case "on_gap":
		in.OnGap, err = stringField(key, raw)
	case "token":
		in.Token, err = stringField(key, raw)
	case "group":
		in.Group, err = stringField(key, raw)
	case "key":
		in.Key, err = optionalString(key, raw)
	case "key_b64":
		in.KeyB64, err = optionalString(key, raw)
	case "value_b64":
		in.ValueB64, err = optionalString(key, raw)
	case "value":
		in.Value = raw
	case "from":
		if string(raw) != "null" {
			in.From = raw
		}
	case "headers":
		in.Headers, err = stringMap(raw)
	case "records":
		in.Records, err = parseRecords(raw)
	// The rare structured fields decode into locals: &in.Filter given to
	// json.Unmarshal would move every frame's inbound to the heap.
	case "filter":
		var f *filterSpec
		err = json.Unmarshal(raw, &f)
		in.Filter = f
	case "partition":
		var n *int32
		err = json.Unmarshal(raw, &n)
		in.Partition = n
	case "offset":
		var n *int64
		err = json.Unmarshal(raw, &n)
		in.Offset = n
	}
	if err != nil {
		return fmt.Errorf("field %q: %w", keyBytes, err)
	}
	return nil
}

// knownOps are returned as constants, so reading an op allocates nothing.
var knownOps = []string{"publish", "subscribe", "unsubscribe", "ack", "ping", "auth"}

func opField(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' {
		body := raw[1 : len(raw)-1]
		for _, op := range knownOps {
			if string(body) == op {
				return op, nil
			}
		}
	}
	return stringField("op", raw)
}

// isPlainString reports whether raw is the JSON string s written without
// escapes, without allocating.
func isPlainString(raw []byte, s string) bool {
	return len(raw) == len(s)+2 && raw[0] == '"' && string(raw[1:len(raw)-1]) == s &&
		bytes.IndexByte(raw[1:len(raw)-1], '\\') < 0
}

// stringField reads a JSON string (null reads as "").
func stringField(key string, raw []byte) (string, error) {
	if string(raw) == "null" {
		return "", nil
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", fmt.Errorf("want a string, got %s", kindOf(raw))
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' {
			var s string
			err := json.Unmarshal(raw, &s)
			return s, err
		}
	}
	return string(body), nil
}

// parseRecords reads the records of a batch publish: an array of objects
// with the record fields of a publish.
func parseRecords(raw []byte) ([]inbound, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, fmt.Errorf("want an array of records, got %s", kindOf(raw))
	}
	p := jsonScanner{data: raw, i: 1}
	records := []inbound{}
	p.ws()
	if p.eat(']') {
		return records, nil
	}
	for {
		p.ws()
		if p.i >= len(raw) || raw[p.i] != '{' {
			return nil, fmt.Errorf("record %d: want an object", len(records))
		}
		var rec inbound
		err := p.members(1, func(key []byte) error {
			start := p.i
			if err := p.skip(2); err != nil {
				return err
			}
			switch string(key) {
			case "key", "key_b64", "value", "value_b64", "headers":
				return rec.set(key, raw[start:p.i])
			}
			return nil // unknown fields are ignored, as at the top level
		})
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", len(records), err)
		}
		records = append(records, rec)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return records, nil
		}
		return nil, p.fail("expected ',' or ']' in records")
	}
}

// stringMap reads an object of strings (null reads as nil).
func stringMap(raw []byte) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("want an object of strings, got %s", kindOf(raw))
	}
	p := jsonScanner{data: raw}
	m := map[string]string{}
	err := p.members(0, func(key []byte) error {
		start := p.i
		if err := p.skip(1); err != nil {
			return err
		}
		v, err := stringField("", raw[start:p.i])
		if err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		m[string(key)] = v
		return nil
	})
	return m, err
}

func optionalString(key string, raw []byte) (*string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	s, err := stringField(key, raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func kindOf(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
