# bash completion for parkwatch(8)                         -*- shell-script -*-
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

_parkwatch()
{
    local cur prev words cword split
    _init_completion -s || return

    case $prev in
        -p | --pid)
            # the pids of running processes; after a comma, the next one
            local prefix=""
            [[ $cur == *,* ]] && prefix=${cur%,*},
            COMPREPLY=($(compgen -P "$prefix" -W "$(command ls /proc | command grep -E '^[0-9]+$')" \
                -- "${cur##*,}"))
            return
            ;;
        --format)
            COMPREPLY=($(compgen -W 'text json pprof folded' -- "$cur"))
            return
            ;;
        --debug)
            COMPREPLY=($(compgen -W '1 2' -- "$cur"))
            return
            ;;
        --cgroup)
            _filedir -d
            return
            ;;
        -o | --output | --http-auth | --http-tls-cert | --http-tls-key)
            _filedir
            return
            ;;
        --user)
            COMPREPLY=($(compgen -u -- "$cur"))
            return
            ;;
        --interval | --duration | --min-park | --go-time-budget | --leak-window | --leak-min-span)
            COMPREPLY=($(compgen -W '100ms 500ms 1s 2s 5s 10s 30s 1m 2m 5m 10m 1h' -- "$cur"))
            return
            ;;
        --go-memory-budget | --metrics-top-k | --leak-min-slope | --http)
            return
            ;;
    esac

    $split && return

    if [[ $cur == -* ]]; then
        # the options of --help itself, from sbin when it is not on PATH
        local program
        program=$(type -P "$1") || program=/usr/sbin/$1
        COMPREPLY=($(compgen -W '$(_parse_help "$program")' -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
    fi
} &&
    complete -F _parkwatch parkwatch

# ex: filetype=sh
