#!/bin/sh
# check_mem - memory in use (MemTotal - MemAvailable from /proc/meminfo) as a
# Nagios plugin: one status line with perfdata, exit 0/1/2/3.
# Written by Bergamot's `bergamot run` for its private NRPE daemon.
# Usage: check_mem [-w PERCENT] [-c PERCENT]   (defaults 90 and 95)
warn=90
crit=95
while getopts w:c: opt; do
	case $opt in
	w) warn=$OPTARG ;;
	c) crit=$OPTARG ;;
	*) echo "MEMORY UNKNOWN - usage: check_mem [-w percent] [-c percent]"; exit 3 ;;
	esac
done
case "$warn:$crit" in
*[!0-9:]* | :* | *:) echo "MEMORY UNKNOWN - thresholds must be whole percentages (-w $warn -c $crit)"; exit 3 ;;
esac
total=
avail=
while read -r key value _; do
	case $key in
	MemTotal:) total=$value ;;
	MemAvailable:) avail=$value ;;
	esac
done </proc/meminfo
if [ -z "$total" ] || [ -z "$avail" ] || [ "$total" -eq 0 ]; then
	echo "MEMORY UNKNOWN - /proc/meminfo has no MemTotal or MemAvailable"
	exit 3
fi
used=$((total - avail))
pct=$((used * 100 / total))
state=OK
code=0
if [ "$pct" -ge "$crit" ]; then
	state=CRITICAL
	code=2
elif [ "$pct" -ge "$warn" ]; then
	state=WARNING
	code=1
fi
echo "MEMORY $state - ${pct}% used ($((used / 1024)) MiB of $((total / 1024)) MiB)|used=$((used * 1024))B;$((total * 1024 / 100 * warn));$((total * 1024 / 100 * crit));0;$((total * 1024)) used_pct=${pct}%;$warn;$crit;0;100"
exit $code
