package learn

import (
	"fmt"

	"pz/export"
	"pz/models"
	"pz/models/loss"
	"pz/models/qwen3"
)

// Graph names of the router load-balancing term (Options.RouterAuxLossCoef).
const (
	RouterAuxLoss  = "router_aux_loss"  // output: the loss before its coefficient
	RouterAuxScale = "router_aux_scale" // input, 0-d: coefficient / micro-batches
)

// checkRouterAux refuses an aux-loss coefficient the learner cannot apply.
func checkRouterAux(cfg *models.Config, o Options) error {
	switch {
	case o.RouterAuxLossCoef == 0:
		return nil
	case o.RouterAuxLossCoef < 0:
		return fmt.Errorf("learner: router aux loss coefficient %g must not be negative", o.RouterAuxLossCoef)
	case !cfg.IsMoE():
		return fmt.Errorf("learner: router aux loss set for model_type %q, which has no router", cfg.ModelType)
	case o.SharedPrefix:
		// The prefix graph routes each shared prompt once, so its token
		// statistics are not the plain batch's.
		return fmt.Errorf("learner: the router aux loss is not supported with shared-prefix batches")
	}
	return nil
}

// routerAux is the train graph's load-balancing loss when it is on, nil
// otherwise. Like transformers under gradient accumulation, each
// micro-batch adds its own loss divided by the number of micro-batches.
func (l *Learner) routerAux(fw *qwen3.Forward) *export.Value {
	if l.opts.RouterAuxLossCoef == 0 {
		return nil
	}
	return fw.Model.RouterAuxLoss(fw.G, fw.Mask)
}

// addRouterAux adds router_aux_scale · aux to the objective (aux nil: no-op).
func addRouterAux(g *export.Graph, terms map[string]*export.Value, aux *export.Value) {
	if aux == nil {
		return
	}
	scale := g.Input(RouterAuxScale, aux.DType(), export.S())
	terms[loss.Loss] = g.Add(terms[loss.Loss], g.Mul(scale, aux))
	terms[RouterAuxLoss] = aux
}
