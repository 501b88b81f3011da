// Can a play read other hosts? (issue 12) A host's conffs is rebuilt when its
// inputs change; its own variables and groups are always among them. When
// the repository names a magic variable through which a play reads other
// hosts' variables or the group membership (hostvars['db01'].ip,
// groups['web'], play_hosts...), or the lookup that lists the inventory's
// hosts, the whole inventory is an input too: a template may print another
// host's variable. The search is textual (git grep over the commit, not a
// parse of Jinja): a false alarm only costs a rebuild, a miss serves a stale
// conffs, so it errs on the side of the alarm.

/** The names read. */
export const OTHER_HOSTS_NAMES: readonly string[] = ['hostvars', 'groups', 'play_hosts', 'ansible_play_hosts', 'ansible_play_hosts_all', 'ansible_play_batch', 'inventory_hostnames'];

/**
 * One of the names as a whole word that is read, as a POSIX extended regular
 * expression: not part of a longer name (group_names, mygroups), and not
 * followed by `:` or a single `=` (a YAML key or `groups=` in literal text,
 * e.g. a motd's "groups={{ group_names }}"); `groups['web']`, `groups.web`,
 * `in groups and`, `hostvars[h]`, `== play_hosts`, a name ending its line all count.
 */
export const READS_OTHER_HOSTS = `(^|[^[:alnum:]_])(${OTHER_HOSTS_NAMES.join('|')})([^=:[:alnum:]_[:space:]]|==|$|[[:space:]]+([^=:[:space:]]|==|$))`;
