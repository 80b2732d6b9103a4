package main

import (
	"context"
	"errors"
)

func runBench(ctx context.Context, env *Env, args []string) error {
	return errors.New("bench is not available yet in this version of Bergamot")
}
