// The exit codes of encore-load.
#ifndef ENCORE_TOOLS_LOAD_EXIT_CODES_H_
#define ENCORE_TOOLS_LOAD_EXIT_CODES_H_

namespace encore::load {

// The server's state matched what the tool saw (or --help, --version).
inline constexpr int kExitOk = 0;
// A usage error (printed), a server that cannot be reached, a refused setup,
// or an ack log that cannot be written.
inline constexpr int kExitUsage = 2;
// A breach of the invariants (printed).
inline constexpr int kExitBreach = 3;
// The server went away mid-run or during the check: the report is printed,
// the check is left to `encore-load verify --ack-log FILE`.
inline constexpr int kExitServerLost = 4;

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_EXIT_CODES_H_
