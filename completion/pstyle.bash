# bash completion for pstyle (make install puts it in share/bash-completion/completions/pstyle).
# Commands and options come from pstyle itself ('pstyle --help', 'pstyle CMD --help'), so they
# never drift from the binary; user and style names from 'pstyle list' on the store the command
# line names (--db), else the default one.

_pstyle_db_args()
{
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
        --db) printf -- '--db\n%s\n' "${COMP_WORDS[i + 1]}" ;;
        --db=*) printf -- '%s\n' "${COMP_WORDS[i]}" ;;
        esac
    done
}

# "user/style" lines of the store; $1: users or styles (of user $2)
_pstyle_names()
{
    local -a db
    mapfile -t db < <(_pstyle_db_args)
    "${COMP_WORDS[0]}" list "${db[@]}" 2>/dev/null | while read -r us _; do
        case $1 in
        users) printf '%s\n' "${us%%/*}" ;;
        styles) [ -z "$2" ] || [ "${us%%/*}" = "$2" ] && printf '%s\n' "${us#*/}" ;;
        esac
    done | sort -u
}

_pstyle()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd="" ci i user=""
    for ((ci = 1; ci < COMP_CWORD; ci++)); do
        case ${COMP_WORDS[ci]} in
        -*) ;;
        *) cmd=${COMP_WORDS[ci]}; break ;;
        esac
    done
    if [ -z "$cmd" ]; then
        local cmds
        cmds=$("${COMP_WORDS[0]}" --help 2>/dev/null |
               awk '/^commands:/ {f = 1; next} f && NF == 0 {exit} f {print $1}')
        COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
        return
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        [ "${COMP_WORDS[i]}" = --user ] && user=${COMP_WORDS[i + 1]}
    done
    case $prev in
    --user | --as)
        COMPREPLY=($(compgen -W "$(_pstyle_names users)" -- "$cur"))
        return ;;
    --style)
        if [ -z "$user" ] && [[ $cmd = show || $cmd = forget || $cmd = export || $cmd = relearn ]]; then
            for ((i = ci + 1; i < COMP_CWORD; i++)); do
                case ${COMP_WORDS[i]} in
                --style | --db | --model) ((i++)) ;;
                -*) ;;
                *) user=${COMP_WORDS[i]}; break ;;
                esac
            done
        fi
        COMPREPLY=($(compgen -W "$(_pstyle_names styles "$user")" -- "$cur"))
        return ;;
    --format)
        COMPREPLY=($(compgen -W "png jpg" -- "$cur"))
        return ;;
    --order)
        COMPREPLY=($(compgen -W "first second" -- "$cur"))
        return ;;
    --out-dir | --dir | --data | --extval | --out)
        [ "$cmd" = train ] && [ "$prev" = --out ] && { COMPREPLY=($(compgen -f -- "$cur")); return; }
        COMPREPLY=($(compgen -d -- "$cur"))
        return ;;
    --db | --model | --init | -o | --sheet)
        COMPREPLY=($(compgen -f -- "$cur"))
        return ;;
    --version | --color | --texture | --stroke | --strength | --size | --quality | --threads | \
    --shots-max | --steps | --minutes | --episodes | --shots | --queries | --crop | \
    --inner-steps | --learn-steps | --lr | --w-ssim | --w-feat | --seed | --val-every | \
    --port | --max-upload-mb | --count | --only)
        return ;; # a number or a list: nothing to offer
    esac
    if [[ $cur = -* ]]; then
        local opts
        opts=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    # the first positional of the per-user commands is a user
    case $cmd in
    show | forget | export | relearn)
        local n=0
        for ((i = ci + 1; i < COMP_CWORD; i++)); do
            case ${COMP_WORDS[i]} in
            --style | --db | --model) ((i++)) ;;
            -*) ;;
            *) ((n++)) ;;
            esac
        done
        if [ $n = 0 ]; then
            COMPREPLY=($(compgen -W "$(_pstyle_names users)" -- "$cur"))
            return
        fi ;;
    esac
    COMPREPLY=($(compgen -f -- "$cur")) # images, export files
}
complete -o filenames -o bashdefault -F _pstyle pstyle
