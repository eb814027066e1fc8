package kafkatest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Options configures [Start]. The zero value starts a broker with a temporary
// log directory and the defaults below.
type Options struct {
	// LogDir is the broker's data directory (Kafka's log.dirs). It is
	// formatted on first use and kept by Close, so a later broker can reuse
	// it. Default: a directory inside the broker's temporary work directory,
	// removed by Close.
	LogDir string

	// StartTimeout bounds how long Start and Restart wait for the broker to
	// answer metadata requests, on top of any deadline in their context.
	// Default: 90s.
	StartTimeout time.Duration

	// ExtraProperties are added to, or override, the broker's
	// server.properties (see defaultProperties). The listener, node and
	// log-directory settings are managed by kafkatest and cannot be set here.
	// Default: none.
	ExtraProperties map[string]string

	// Stdout, if set, receives the broker's output as it is written. The
	// output always also goes to broker.log in the work directory and to an
	// in-memory ring whose tail is included in start errors.
	// Default: nil (file and ring only).
	Stdout io.Writer

	// Classpath is the Java classpath of the Kafka broker.
	// Default: the output of scripts/kafka-classpath.sh, found by walking up
	// from the working directory to the module root.
	Classpath string

	// Java is the java executable. Default: $JAVA_HOME/bin/java when
	// JAVA_HOME is set, otherwise java on PATH.
	Java string
}

// Named limits and defaults.
const (
	// defaultStartTimeout is Options.StartTimeout's default.
	defaultStartTimeout = 90 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 20 * time.Second
	// outputTailLines is how many lines of broker output start errors carry.
	outputTailLines = 50
	// readyPollInterval is the pause between readiness probes.
	readyPollInterval = 200 * time.Millisecond
	// readyProbeTimeout bounds one readiness probe.
	readyProbeTimeout = 2 * time.Second
	// brokerHeapMax and brokerHeapMin are the broker JVM's heap flags; the
	// storage tool that formats the log directory shares the maximum.
	brokerHeapMax, brokerHeapMin = "-Xmx512m", "-Xms256m"
)

// managedProperties are the server.properties keys kafkatest sets itself.
var managedProperties = map[string]bool{
	"process.roles":                       true,
	"node.id":                             true,
	"controller.quorum.voters":            true,
	"controller.quorum.bootstrap.servers": true,
	"listeners":                           true,
	"advertised.listeners":                true,
	"controller.listener.names":           true,
	"listener.security.protocol.map":      true,
	"inter.broker.listener.name":          true,
	"log.dirs":                            true,
	"log.dir":                             true,
}

// validate reports every problem with o.
func (o *Options) validate() error {
	var errs []error
	if o.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("StartTimeout %v is negative", o.StartTimeout))
	}
	if o.LogDir != "" && !filepath.IsAbs(o.LogDir) {
		errs = append(errs, fmt.Errorf("LogDir %q is not an absolute path", o.LogDir))
	}
	keys := make([]string, 0, len(o.ExtraProperties))
	for k := range o.ExtraProperties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if managedProperties[k] {
			errs = append(errs, fmt.Errorf("ExtraProperties: %q is managed by kafkatest", k))
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns o with zero fields replaced by their defaults, except
// Classpath, which resolveClasspath fills because it runs a script.
func (o Options) withDefaults() Options {
	if o.StartTimeout == 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.Java == "" {
		o.Java = "java"
		if home := os.Getenv("JAVA_HOME"); home != "" {
			o.Java = filepath.Join(home, "bin", "java")
		}
	}
	return o
}
