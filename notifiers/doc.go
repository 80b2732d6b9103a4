// Package notifiers delivers Bergamot notifications to people.
//
// A Notification describes one thing worth telling someone about (an alert,
// a recovery, an acknowledgement, ...). A Notifier is one delivery channel
// (email, sms, webhook, slack, irc: one sub-package each) and sends a
// Notification to one Recipient. A channel package registers itself
// (RegisterChannel: its name, parameters, secrets, where it finds a
// contact's address, how it builds its Notifier; RegisterTemplates for its
// message templates), and package notifiers/dispatch, the configuration
// validator and the APIs find it by name; there are no switch statements
// on channel names. A Recipient holds its addresses per channel name.
//
// Besides the core Notifier interface a channel may offer optional
// capabilities, discovered by type assertion: Tester (a channel-specific
// "send test notification"), BatchSender (several notifications in one
// message) and Closer (release long-lived connections).
//
// Errors returned by Send are classified: IsPermanent reports errors that
// will fail again the same way (a 4xx answer, bad credentials, an invalid
// address) and must not be retried; everything else is transient and should
// be retried with backoff (see Backoff).
//
// Message text comes from Templates: text/template (html/template for the
// HTML part of email) per channel and notification type, with embedded
// defaults that a site may override.
//
// SignAck and VerifyAck make and check the signed, expiring acknowledgement
// links put in notifications; single use is enforced by the caller, which
// records used links.
package notifiers
