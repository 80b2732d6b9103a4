// Package virtual implements Bergamot's virtual-check conditions: the
// expressions in a <cluster> or <resource> <condition> that compute a
// status from the statuses of other checks.
//
//	host 'pgsql1.local' or host 'pgsql2.local'
//	majority of service 'bergamot-ui-daemon' on hosts in pool 'bergamot-ui-cluster'
//	two or more of [host 'a', host 'b', host 'c'] as WARNING
//	count critical of hosts in pool 'web' is < 2 as WARNING
//	case when host 'db1' is OK then OK when host 'db2' is OK then WARNING else CRITICAL end
//
// References: host 'name' (or host UUID), service 'n' on host 'h',
// trap 't' on host 'h', resource 'r' on cluster 'c', cluster 'c', and
// pools: hosts in pool 'p', services in pool 'p', traps in pool 'p',
// service 'n' on hosts in pool 'p'. A reference on its own has the worst
// status of its members.
//
// Operators, loosest first: or (||, |) gives the best status; xor (^) is
// OK when exactly one side is OK, else CRITICAL; and (&&, &) gives the
// worst status; not (!) turns OK into CRITICAL and anything else into OK.
// "Best" and "worst" follow checks.Status.Severity; "OK" includes the
// OK-like statuses (INFO, PENDING, ACTION).
//
// Functions apply to a list [a, b, ...], a pool, or any reference:
// all/any [of] (worst/best); one..nine (or digits) [or more|or less] [of]
// X [as S] (OK when exactly/at least/at most that many members are OK,
// otherwise S, default CRITICAL); majority/quorum [of] X [as W, C]
// (Bergamot's rule: more than two members all OK gives OK, more than half
// OK gives W, default WARNING, otherwise C, default CRITICAL); count
// [STATUS] [of] X [is] OP N [as S] with OP one of == != < <= > >= eq ne lt
// lteq gt gteq (counts OK members unless STATUS is given); and case when
// X is S then T ... else E end.
//
// Parse checks syntax; References lists what the configuration must
// check exists and feeds DetectCycles; Eval asks a Resolver for the
// current state of each reference.
package virtual
