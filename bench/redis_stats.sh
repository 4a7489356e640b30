#!/usr/bin/env bash
# bench/redis_stats.sh OUT/redis_stats.txt — Redis's side of each *-redis run
# of bench/compare.sh, from the INFO snapshots taken before and after it:
# Redis CPU (user+sys), events (PUBLISH calls: one per event for both herald
# and Nchan), Redis CPU per event, and the commands Redis ran per event
# (commands run inside a Lua script count too: EVALSHA is the round trip,
# what it runs is the work). Medians over rounds per server and scenario.
set -euo pipefail
(($# == 1)) || { echo "usage: bench/redis_stats.sh redis_stats.txt" >&2; exit 2; }
awk '
  # "<server> <scenario> round=<n> before|after <key> <value> [usec]"
  {
    run = $1 " " $2 " " $3; when = $4; key = $5
    if (!(run in seen)) { seen[run] = 1; order[++n] = run }
    v[run, when, key] = $6
    if (key ~ /^cmd_/) { cmds[run, key] = 1; allcmd[key] = 1 }
  }
  function d(run, key) { return v[run, "after", key] - v[run, "before", key] }
  END {
    for (i = 1; i <= n; i++) {
      run = order[i]; split(run, f, " "); group = f[1] " " f[2]
      cpu = (d(run, "used_cpu_user") + d(run, "used_cpu_sys")) * 1e6
      ev = d(run, "cmd_publish"); if (ev <= 0) continue
      total = 0; line = ""
      for (k in allcmd) {
        c = d(run, k); if (c <= 0 || k == "cmd_ping" || k == "cmd_info") continue
        total += c; per[group, k] = per[group, k] " " c / ev
      }
      ncpu[group]++; cpus[group] = cpus[group] " " cpu / ev
      evs[group] = evs[group] " " ev; tot[group] = tot[group] " " total / ev
      evalsha[group] = evalsha[group] " " d(run, "cmd_evalsha") / ev
      if (!(group in gseen)) { gseen[group] = 1; gorder[++g] = group }
    }
    print "| server scenario | runs | events | Redis CPU µs/event | commands/event | EVALSHA/event |"
    print "|---|---:|---:|---:|---:|---:|"
    for (j = 1; j <= g; j++) {
      gr = gorder[j]
      printf "| %s | %d | %s | %.1f | %.1f | %.2f |\n", gr, ncpu[gr], med(evs[gr]), med(cpus[gr]), med(tot[gr]), med(evalsha[gr])
    }
  }
  function med(s,   a, m, i, j, t) {
    m = split(s, a, " ")
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
' "$1"
