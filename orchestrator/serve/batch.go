package serve

import (
	"context"
	"sync"
	"time"

	"pz/orchestrator"
)

// pending is one generation request waiting for its batch.
type pending struct {
	ctx  context.Context
	req  orchestrator.GenRequest
	done chan genOut // buffered: the batcher never blocks on it
}

type genOut struct {
	res     orchestrator.GenResult
	version int64
	err     error
}

// generate queues one request and waits for its batch's result.
func (s *Server) generate(ctx context.Context, g orchestrator.GenRequest) (orchestrator.GenResult, int64, error) {
	p := &pending{ctx: ctx, req: g, done: make(chan genOut, 1)}
	select {
	case s.queue <- p:
	case <-ctx.Done():
		return orchestrator.GenResult{}, 0, ctx.Err()
	case <-s.stop:
		return orchestrator.GenResult{}, 0, errDraining
	}
	s.m.queued.Inc()
	select {
	case out := <-p.done:
		return out.res, out.version, out.err
	case <-ctx.Done():
		// The batch goes on for the others; it is cancelled once every
		// request in it has gone (runBatch).
		return orchestrator.GenResult{}, 0, ctx.Err()
	}
}

// batcher collects requests into batches and runs them one at a time: the
// engine serialises its calls anyway, and requests arriving meanwhile make
// the next batch bigger.
func (s *Server) batcher() {
	defer close(s.done)
	for {
		var first *pending
		select {
		case first = <-s.queue:
		case <-s.stop:
			s.failQueued()
			return
		}
		batch, rows := []*pending{first}, first.req.N
		timer := time.NewTimer(s.o.BatchWindow)
	collect:
		for rows < s.o.MaxBatchRows {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
				rows += p.req.N
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		s.m.queued.Sub(float64(len(batch)))
		s.runBatch(batch)
	}
}

func (s *Server) failQueued() {
	for {
		select {
		case p := <-s.queue:
			p.done <- genOut{err: errDraining}
		default:
			return
		}
	}
}

// runBatch runs one engine call for the batch's live requests. Its
// context ends when every request in it has gone.
func (s *Server) runBatch(batch []*pending) {
	var live []*pending
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- genOut{err: err}
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	left := len(live)
	for _, p := range live {
		stop := context.AfterFunc(p.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
				cancel()
			}
		})
		defer stop()
	}
	reqs := make([]orchestrator.GenRequest, len(live))
	rows := 0
	for i, p := range live {
		reqs[i] = p.req
		rows += p.req.N
	}
	s.mu.RLock()
	version := s.Version()
	start := time.Now()
	res, err := s.o.Engine.Generate(ctx, reqs)
	s.mu.RUnlock()
	s.m.engineSeconds.WithLabelValues("generate").Observe(time.Since(start).Seconds())
	s.m.batchRows.Observe(float64(rows))
	if err != nil && len(live) > 1 && ctx.Err() == nil {
		// One bad request fails the whole call: find it by running each
		// alone, so the others still get their results.
		for _, p := range live {
			s.runBatch([]*pending{p})
		}
		return
	}
	for i, p := range live {
		if err != nil {
			if ctx.Err() != nil && p.ctx.Err() != nil {
				err = p.ctx.Err()
			}
			p.done <- genOut{err: err}
			continue
		}
		for _, c := range res[i].Completions {
			s.m.tokens.Add(float64(len(c.IDs)))
		}
		p.done <- genOut{res: res[i], version: version}
	}
}
