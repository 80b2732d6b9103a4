package dispatch

// The channels this binary has. A channel is one package that registers
// itself (notifiers.RegisterChannel, from its init function): adding one
// is its package plus one line here. Nothing else in dispatch, the
// configuration validator or the APIs names a channel.
import (
	_ "github.com/bergamot-monitoring/bergamot/notifiers/email"
	_ "github.com/bergamot-monitoring/bergamot/notifiers/irc"
	_ "github.com/bergamot-monitoring/bergamot/notifiers/slack"
	_ "github.com/bergamot-monitoring/bergamot/notifiers/sms"
	_ "github.com/bergamot-monitoring/bergamot/notifiers/webhook"
)
