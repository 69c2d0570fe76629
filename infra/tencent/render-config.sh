#!/bin/bash
# render-config.sh TEMPLATE OUTPUT
#
# Writes OUTPUT (mode 0600) from the JSON file TEMPLATE with every
# {{env.NAME}} placeholder replaced by the value of the environment variable
# NAME, escaped for a JSON string. Placeholders must sit inside JSON strings
# ("{{env.NAME}}"), as in infra/tencent/<stage>/cloudbaserc.json.
#
# It refuses, writing nothing, when a placeholder's variable is unset or
# empty, when a value holds a control character (no value callsign deploys
# has one), or when the template holds any other "{{" syntax. Error
# messages name variables, never values: a value may be a Redis password.
set -u -o pipefail
export LC_ALL=C
shopt -u patsub_replacement 2>/dev/null || true

if [ "$#" -ne 2 ]; then
	echo "usage: render-config.sh TEMPLATE OUTPUT" >&2
	exit 2
fi
template=$1
output=$2

content=$(cat -- "$template" && printf x) || { echo "render-config: cannot read $template" >&2; exit 1; }
content=${content%x}

placeholder='\{\{env\.[A-Za-z_][A-Za-z0-9_]*\}\}'
names=$(printf '%s' "$content" | grep -oE "$placeholder" | sed -e 's/^{{env\.//' -e 's/}}$//' | sort -u)
rest=$(printf '%s' "$content" | sed -E "s/$placeholder//g")
if [[ $rest == *"{{"* ]]; then
	echo "render-config: $template holds a placeholder other than {{env.NAME}}" >&2
	exit 1
fi

status=0
for name in $names; do
	if [ -z "${!name:-}" ]; then
		echo "render-config: $name is unset or empty; $template needs it" >&2
		status=2
	elif [[ ${!name} == *[[:cntrl:]]* ]]; then
		echo "render-config: $name holds a control character" >&2
		status=2
	fi
done
if [ "$status" -ne 0 ]; then
	exit "$status"
fi

# One pass from left to right, so a value that looks like a placeholder is
# written as it is, never expanded.
rendered=
rest=$content
re='\{\{env\.([A-Za-z_][A-Za-z0-9_]*)\}\}'
while [[ $rest =~ $re ]]; do
	match=${BASH_REMATCH[0]}
	name=${BASH_REMATCH[1]}
	value=${!name}
	value=${value//\\/\\\\}
	value=${value//\"/\\\"}
	rendered+=${rest%%"$match"*}$value
	rest=${rest#*"$match"}
done
content=$rendered$rest

rm -f -- "$output"
(umask 077 && printf '%s' "$content" > "$output") || { echo "render-config: cannot write $output" >&2; exit 1; }
