package hub_test

import (
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
