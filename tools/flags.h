// The flags of the Encore programs, on CLI11: what they share.
//
//   CLI::App app("...", "encored");
//   SetUpApp(app);
//   AddNumber(app, "--shards", &shards, "engine shards");
//   try {
//     app.parse(argc, argv);
//   } catch (const CLI::ParseError& error) {
//     return ExitParse(app, error, kExitUsage);
//   }
//
// Every program answers --help and --version (the project's version) with
// exit code 0. A command line it does not understand (an unknown flag, a
// missing value, a value that is not a number) is reported on stderr with the
// program's name, and the program exits with its usage code having done
// nothing.
#ifndef ENCORE_TOOLS_FLAGS_H_
#define ENCORE_TOOLS_FLAGS_H_

#include <charconv>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "CLI/CLI.hpp"

namespace encore::tools {

// --help and --version ("<name> <version>") on `app`; a single-valued flag
// given twice is refused.
inline void SetUpApp(CLI::App& app) {
  app.set_version_flag("--version", app.get_name() + " " + ENCORE_VERSION,
                       "print the version and exit");
  app.set_help_flag("-h,--help", "print this help and exit");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

// Adds `name` as a decimal number stored into *value (which holds the
// default): digits only (a '-' too for a signed type), in the type's range and
// within [min, max]. Anything else is refused naming the flag.
template <typename Number>
CLI::Option* AddNumber(CLI::App& app, const std::string& name, Number* value,
                       const std::string& help, Number min = std::numeric_limits<Number>::min(),
                       Number max = std::numeric_limits<Number>::max()) {
  auto parse = [name, value, min, max](const std::string& text) {
    Number parsed{};
    const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (text.empty() || code != std::errc() || end != text.data() + text.size()) {
      throw CLI::ValidationError(name, "\"" + text + "\" is not a valid number");
    }
    if (parsed < min || parsed > max) {
      throw CLI::ValidationError(
          name, "must be " + std::to_string(min) + " .. " + std::to_string(max) + ", got " + text);
    }
    *value = parsed;
  };
  return app.add_option_function<std::string>(name, parse, help)
      ->type_name("N")
      ->default_str(std::to_string(*value));
}

// What a failed parse means: --help or --version printed (exit 0), or a
// usage error said on stderr (exit `usage_code`).
inline int ExitParse(CLI::App& app, const CLI::ParseError& error, int usage_code) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);
  std::string message = error.what();
  // A missing subcommand after words that are none: name the first of them.
  const std::vector<std::string> rest = app.remaining();
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr &&
      !app.get_subcommands({}).empty() && app.get_subcommands().empty() && !rest.empty()) {
    message = "unknown command \"" + rest.front() + "\"";
  }
  std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", app.get_name().c_str(),
               message.c_str(), app.get_name().c_str());
  return usage_code;
}

}  // namespace encore::tools

#endif  // ENCORE_TOOLS_FLAGS_H_
