package kafkatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// classpathScript is the script, relative to the module root, that prints
// the broker classpath.
const classpathScript = "scripts/kafka-classpath.sh"

// log4jConfig keeps the broker's output to warnings and errors, plus the
// line saying the server started, so that the tail in a start error is
// about the failure rather than routine start-up chatter.
const log4jConfig = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{HH:mm:ss.SSS}] %p %m (%c{1})%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
`

// defaultProperties are the broker settings kafkatest uses unless
// Options.ExtraProperties overrides them: a single replica everywhere, no
// topic auto-creation, small internal topics and few threads so the broker
// starts fast and stays light on a shared CI machine. The short broker
// session lets a broker that was killed (not stopped) come back in ~4s
// instead of waiting out the 9s default before it may register again.
var defaultProperties = map[string]string{
	"broker.session.timeout.ms":                        "4000",
	"broker.heartbeat.interval.ms":                     "1000",
	"num.partitions":                                   "3",
	"default.replication.factor":                       "1",
	"auto.create.topics.enable":                        "false",
	"offsets.topic.replication.factor":                 "1",
	"offsets.topic.num.partitions":                     "1",
	"transaction.state.log.replication.factor":         "1",
	"transaction.state.log.min.isr":                    "1",
	"transaction.state.log.num.partitions":             "1",
	"share.coordinator.state.topic.replication.factor": "1",
	"share.coordinator.state.topic.min.isr":            "1",
	"group.initial.rebalance.delay.ms":                 "0",
	"num.network.threads":                              "2",
	"num.io.threads":                                   "2",
	"num.recovery.threads.per.data.dir":                "1",
	"background.threads":                               "2",
	"log.cleaner.threads":                              "1",
}

// serverProperties renders server.properties for a broker with the given
// ports and data directory.
func serverProperties(port, controllerPort int, logDir string, extra map[string]string) []byte {
	props := make(map[string]string, len(defaultProperties)+len(extra)+16)
	for k, v := range defaultProperties {
		props[k] = v
	}
	for k, v := range extra {
		props[k] = v
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	caddr := "127.0.0.1:" + strconv.Itoa(controllerPort)
	for k, v := range map[string]string{
		"process.roles":                  "broker,controller",
		"node.id":                        "1",
		"controller.quorum.voters":       "1@" + caddr,
		"listeners":                      "PLAINTEXT://" + addr + ",CONTROLLER://" + caddr,
		"advertised.listeners":           "PLAINTEXT://" + addr,
		"controller.listener.names":      "CONTROLLER",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":     "PLAINTEXT",
		"log.dirs":                       logDir,
	} {
		props[k] = v
	}

	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("# Written by github.com/sluicehq/sluice/test/kafkatest.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, escapeProperty(props[k]))
	}
	return b.Bytes()
}

// escapeProperty escapes the characters java.util.Properties treats
// specially in a value.
func escapeProperty(v string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(v)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. All listeners
// are held open until every port is chosen, so the ports differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// newClusterID returns a random KRaft cluster ID: 16 random bytes in
// unpadded URL-safe base64, as kafka.tools.StorageTool random-uuid prints
// (Kafka never hands out IDs starting with '-', so neither do we).
func newClusterID() (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id, nil
		}
	}
}

// resolveClasspath runs scripts/kafka-classpath.sh from the module root.
func resolveClasspath(ctx context.Context) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, classpathScript))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s: %w\n%s", classpathScript, err, stderr.Bytes())
	}
	cp := strings.TrimSpace(string(out))
	if cp == "" {
		return "", fmt.Errorf("%s printed an empty classpath", classpathScript)
	}
	return cp, nil
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod and the classpath script.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, classpathScript)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kafkatest: no module root with " + classpathScript + " above the working directory; set Options.Classpath")
		}
		dir = parent
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// formatStorage formats the broker's log directory with Kafka's StorageTool.
// A directory that is already formatted is left alone.
func formatStorage(ctx context.Context, java, classpath, log4jFile, propsFile string) error {
	id, err := newClusterID()
	if err != nil {
		return fmt.Errorf("generating a cluster ID: %w", err)
	}
	cmd := exec.CommandContext(ctx, java, brokerHeapMax, "-Xms64m",
		"-Dlog4j2.configurationFile="+log4jFile,
		"-cp", classpath, "kafka.tools.StorageTool",
		"format", "--ignore-formatted", "-t", id, "-c", propsFile)
	configureProcess(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("formatting the log directory: %w\n%s", err, tailLines(out, outputTailLines))
	}
	return nil
}

// tailLines returns the last n lines of out.
func tailLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
