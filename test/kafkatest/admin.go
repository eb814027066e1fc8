package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicReadyTimeout bounds how long CreateTopic waits for partition leaders
// when its context has no earlier deadline.
const topicReadyTimeout = 30 * time.Second

// adminClient returns a kadm client for the broker; close the kgo client.
func (b *Broker) adminClient() (*kgo.Client, *kadm.Client, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addr),
		kgo.DialTimeout(time.Second),
	)
	if err != nil {
		return nil, nil, err
	}
	return cl, kadm.NewClient(cl), nil
}

// waitReady polls the broker with metadata requests until it lists a live
// broker and a controller, the process exits, or the timeout passes.
func (b *Broker) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.StartTimeout)
	defer cancel()
	cl, adm, err := b.adminClient()
	if err != nil {
		return err
	}
	defer cl.Close()

	var last error
	for {
		probeCtx, probeCancel := context.WithTimeout(ctx, readyProbeTimeout)
		md, err := adm.BrokerMetadata(probeCtx)
		probeCancel()
		switch {
		case err != nil:
			last = err
		case len(md.Brokers) == 0 || md.Controller < 0:
			last = fmt.Errorf("metadata lists %d brokers and controller %d", len(md.Brokers), md.Controller)
		default:
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("broker exited: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("%w (last probe: %v)", ctx.Err(), last)
		case <-time.After(readyPollInterval):
		}
	}
}

// CreateTopic creates a topic with the given number of partitions and
// replication factor 1, and waits until every partition has a leader. An
// existing topic is an error (errors.Is kerr.TopicAlreadyExists).
func (b *Broker) CreateTopic(ctx context.Context, name string, partitions int32) error {
	if partitions <= 0 {
		return fmt.Errorf("kafkatest: creating topic %s: partitions %d must be positive", name, partitions)
	}
	ctx, cancel := context.WithTimeout(ctx, topicReadyTimeout)
	defer cancel()
	cl, adm, err := b.adminClient()
	if err != nil {
		return fmt.Errorf("kafkatest: creating topic %s: %w", name, err)
	}
	defer cl.Close()

	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("kafkatest: creating topic %s: %w", name, err)
	}

	var last error
	for {
		md, err := adm.Metadata(ctx, name)
		if err == nil {
			err = topicLeadersKnown(md, name, partitions)
		}
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkatest: waiting for leaders of topic %s: %w (last: %v)", name, ctx.Err(), last)
		case <-time.After(readyPollInterval):
		}
	}
}

// topicLeadersKnown reports why md does not yet show every partition of
// topic with a leader.
func topicLeadersKnown(md kadm.Metadata, topic string, partitions int32) error {
	td, ok := md.Topics[topic]
	if !ok {
		return errors.New("topic not in metadata")
	}
	if td.Err != nil {
		return td.Err
	}
	if got := int32(len(td.Partitions)); got != partitions {
		return fmt.Errorf("metadata lists %d of %d partitions", got, partitions)
	}
	for _, pd := range td.Partitions {
		if pd.Err != nil {
			return fmt.Errorf("partition %d: %w", pd.Partition, pd.Err)
		}
		if pd.Leader < 0 {
			return fmt.Errorf("partition %d has no leader", pd.Partition)
		}
	}
	return nil
}
