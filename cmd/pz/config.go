package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
)

// applyConfig reads a YAML file whose keys are the command's own flag
// names and sets every flag not given on the command line (flags override
// the file). An unknown key is an error naming it.
func applyConfig(c *cli.Context, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var kv map[string]any
	if err := yaml.Unmarshal(b, &kv); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	known := map[string]bool{}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			known[n] = true
		}
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] || k == "config" {
			return fmt.Errorf("--config %s: unknown key %q (keys are %s's flag names)", path, k, c.Command.Name)
		}
		if c.IsSet(k) {
			continue // the command line wins
		}
		var vals []string
		switch v := kv[k].(type) {
		case []any:
			for _, x := range v {
				vals = append(vals, fmt.Sprint(x))
			}
		case nil:
			continue
		default:
			vals = []string{fmt.Sprint(v)}
		}
		for _, v := range vals {
			if err := c.Set(k, v); err != nil {
				return fmt.Errorf("--config %s: key %q: %w", path, k, err)
			}
		}
	}
	return nil
}
