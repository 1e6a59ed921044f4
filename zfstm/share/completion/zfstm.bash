# bash completion for zfstm, generated from zfstm's argument parser by zfstm.cli.completion; do not edit (see zfstm.service.shipped)
_zfstm() {
    local cur prev cmd i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    cmd=zfstm
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "$cmd ${COMP_WORDS[i]}" in
            "zfstm cnid"|"zfstm cnid check"|"zfstm cnid migrate"|"zfstm plan"|"zfstm prune"|"zfstm config"|"zfstm config check"|"zfstm snapshot"|"zfstm run"|"zfstm daemon"|"zfstm status"|"zfstm rollback"|"zfstm provision"|"zfstm check"|"zfstm service"|"zfstm service install"|"zfstm service print") cmd="$cmd ${COMP_WORDS[i]}" ;;
        esac
    done
    case "$cmd:$prev" in
        "zfstm:--syslog") COMPREPLY=(); return ;;
        "zfstm cnid check:--afp-conf") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm cnid check:--statedir") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm cnid check:--examples") COMPREPLY=(); return ;;
        "zfstm cnid migrate:--dataset") COMPREPLY=(); return ;;
        "zfstm cnid migrate:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm plan:--input") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm plan:--usage") COMPREPLY=(); return ;;
        "zfstm plan:--now") COMPREPLY=(); return ;;
        "zfstm plan:--backend") COMPREPLY=($(compgen -W 'auto lzc cli' -- "$cur")); return ;;
        "zfstm plan:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm plan:--naming") COMPREPLY=(); return ;;
        "zfstm plan:--adopt-legacy") COMPREPLY=(); return ;;
        "zfstm plan:--adopt") COMPREPLY=(); return ;;
        "zfstm plan:--policy") COMPREPLY=(); return ;;
        "zfstm plan:--tz") COMPREPLY=(); return ;;
        "zfstm plan:--keep-all") COMPREPLY=(); return ;;
        "zfstm plan:--hourly") COMPREPLY=(); return ;;
        "zfstm plan:--daily") COMPREPLY=(); return ;;
        "zfstm plan:--weekly") COMPREPLY=(); return ;;
        "zfstm plan:--monthly") COMPREPLY=(); return ;;
        "zfstm plan:--pick") COMPREPLY=($(compgen -W 'first last' -- "$cur")); return ;;
        "zfstm plan:--min-keep") COMPREPLY=(); return ;;
        "zfstm plan:--week-start") COMPREPLY=(); return ;;
        "zfstm plan:--clock-tolerance") COMPREPLY=(); return ;;
        "zfstm plan:--max-destroy-share") COMPREPLY=(); return ;;
        "zfstm plan:--breaker-min") COMPREPLY=(); return ;;
        "zfstm plan:--space-above") COMPREPLY=(); return ;;
        "zfstm plan:--space-per-run") COMPREPLY=(); return ;;
        "zfstm plan:--space-basis") COMPREPLY=($(compgen -W 'pool dataset' -- "$cur")); return ;;
        "zfstm prune:--now") COMPREPLY=(); return ;;
        "zfstm prune:--backend") COMPREPLY=($(compgen -W 'auto lzc cli' -- "$cur")); return ;;
        "zfstm prune:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm prune:--naming") COMPREPLY=(); return ;;
        "zfstm prune:--adopt-legacy") COMPREPLY=(); return ;;
        "zfstm prune:--adopt") COMPREPLY=(); return ;;
        "zfstm prune:--policy") COMPREPLY=(); return ;;
        "zfstm prune:--tz") COMPREPLY=(); return ;;
        "zfstm prune:--keep-all") COMPREPLY=(); return ;;
        "zfstm prune:--hourly") COMPREPLY=(); return ;;
        "zfstm prune:--daily") COMPREPLY=(); return ;;
        "zfstm prune:--weekly") COMPREPLY=(); return ;;
        "zfstm prune:--monthly") COMPREPLY=(); return ;;
        "zfstm prune:--pick") COMPREPLY=($(compgen -W 'first last' -- "$cur")); return ;;
        "zfstm prune:--min-keep") COMPREPLY=(); return ;;
        "zfstm prune:--week-start") COMPREPLY=(); return ;;
        "zfstm prune:--clock-tolerance") COMPREPLY=(); return ;;
        "zfstm prune:--max-destroy-share") COMPREPLY=(); return ;;
        "zfstm prune:--breaker-min") COMPREPLY=(); return ;;
        "zfstm prune:--space-above") COMPREPLY=(); return ;;
        "zfstm prune:--space-per-run") COMPREPLY=(); return ;;
        "zfstm prune:--space-basis") COMPREPLY=($(compgen -W 'pool dataset' -- "$cur")); return ;;
        "zfstm config check:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm snapshot:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm snapshot:--now") COMPREPLY=(); return ;;
        "zfstm run:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm run:--now") COMPREPLY=(); return ;;
        "zfstm daemon:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm daemon:--interval") COMPREPLY=(); return ;;
        "zfstm status:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm status:--now") COMPREPLY=(); return ;;
        "zfstm status:--prometheus") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm rollback:--to") COMPREPLY=(); return ;;
        "zfstm rollback:--cnid-strategy") COMPREPLY=($(compgen -W 'paired rebuild rescan reset' -- "$cur")); return ;;
        "zfstm rollback:--now") COMPREPLY=(); return ;;
        "zfstm rollback:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm provision:--share") COMPREPLY=(); return ;;
        "zfstm provision:--size") COMPREPLY=(); return ;;
        "zfstm provision:--server") COMPREPLY=($(compgen -W 'netatalk samba' -- "$cur")); return ;;
        "zfstm provision:--cnid-dataset") COMPREPLY=(); return ;;
        "zfstm provision:--platform") COMPREPLY=($(compgen -W 'linux illumos' -- "$cur")); return ;;
        "zfstm provision:--valid-users") COMPREPLY=(); return ;;
        "zfstm provision:--owner") COMPREPLY=(); return ;;
        "zfstm provision:--write-config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm provision:--target") COMPREPLY=(); return ;;
        "zfstm provision:--backend") COMPREPLY=($(compgen -W 'auto lzc cli' -- "$cur")); return ;;
        "zfstm check:--config") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm check:--now") COMPREPLY=(); return ;;
        "zfstm check:--backup-age") COMPREPLY=(); return ;;
        "zfstm check:--snapshot-age") COMPREPLY=(); return ;;
        "zfstm check:--known-good-age") COMPREPLY=(); return ;;
        "zfstm check:--capacity") COMPREPLY=(); return ;;
        "zfstm check:--verification-failed") COMPREPLY=($(compgen -W 'warning critical' -- "$cur")); return ;;
        "zfstm check:--missing") COMPREPLY=($(compgen -W 'ok warning critical unknown' -- "$cur")); return ;;
        "zfstm check:--timeout") COMPREPLY=(); return ;;
        "zfstm service install:--root") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        "zfstm service install:--platform") COMPREPLY=($(compgen -W 'linux smartos-global illumos' -- "$cur")); return ;;
        "zfstm service install:--zfstm-bin") COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    case "$cmd" in
        "zfstm") COMPREPLY=($(compgen -W 'cnid plan prune config snapshot run daemon status rollback provision check service -h --help --version -v --verbose --syslog' -- "$cur")) ;;
        "zfstm cnid") COMPREPLY=($(compgen -W 'check migrate -h --help' -- "$cur")) ;;
        "zfstm cnid check") COMPREPLY=($(compgen -W '-h --help --afp-conf --statedir --examples --json --live' -- "$cur")) ;;
        "zfstm cnid migrate") COMPREPLY=($(compgen -W '-h --help --dataset --dry-run --yes --json --config' -- "$cur")) ;;
        "zfstm plan") COMPREPLY=($(compgen -W '-h --help --input --usage --destroy-only --now --json --backend --config --naming --adopt-legacy --adopt --policy --tz --keep-all --hourly --daily --weekly --monthly --pick --min-keep --week-start --clock-tolerance --max-destroy-share --breaker-min --space-above --space-per-run --space-basis' -- "$cur")) ;;
        "zfstm prune") COMPREPLY=($(compgen -W '-h --help --dry-run --force --now --json --backend --config --naming --adopt-legacy --adopt --policy --tz --keep-all --hourly --daily --weekly --monthly --pick --min-keep --week-start --clock-tolerance --max-destroy-share --breaker-min --space-above --space-per-run --space-basis' -- "$cur")) ;;
        "zfstm config") COMPREPLY=($(compgen -W 'check -h --help' -- "$cur")) ;;
        "zfstm config check") COMPREPLY=($(compgen -W '-h --help --config --json' -- "$cur")) ;;
        "zfstm snapshot") COMPREPLY=($(compgen -W '-h --help --config --dry-run --now --json' -- "$cur")) ;;
        "zfstm run") COMPREPLY=($(compgen -W '-h --help --config --dry-run --now --force --json' -- "$cur")) ;;
        "zfstm daemon") COMPREPLY=($(compgen -W '-h --help --config --interval' -- "$cur")) ;;
        "zfstm status") COMPREPLY=($(compgen -W '-h --help --config --json --summary --now --prometheus' -- "$cur")) ;;
        "zfstm rollback") COMPREPLY=($(compgen -W '-h --help --to --last-good --undo --resume --abort --discard-newer --cnid-strategy --dry-run --yes --json --now --config' -- "$cur")) ;;
        "zfstm provision") COMPREPLY=($(compgen -W '-h --help --share --size --server --cnid-dataset --platform --valid-users --owner --write-config --target --backend --force --dry-run --json' -- "$cur")) ;;
        "zfstm check") COMPREPLY=($(compgen -W '-h --help --config --json --now --backup-age --snapshot-age --known-good-age --capacity --verification-failed --missing --timeout' -- "$cur")) ;;
        "zfstm service") COMPREPLY=($(compgen -W 'install print -h --help' -- "$cur")) ;;
        "zfstm service install") COMPREPLY=($(compgen -W '-h --help --dry-run --json --root --no-enable --platform --zfstm-bin' -- "$cur")) ;;
        "zfstm service print") COMPREPLY=($(compgen -W 'zfstm.service zfstm.timer zfstm-daemon.service zfstm.xml zfstm-account example-config bash-completion zsh-completion man -h --help' -- "$cur")) ;;
    esac
}
complete -o default -F _zfstm zfstm
