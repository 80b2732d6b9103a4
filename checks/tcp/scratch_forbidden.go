package tcp

import _ "github.com/bergamot-monitoring/bergamot/store"
