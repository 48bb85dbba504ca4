// KeyValueConfig: encored's config file (--config FILE), read for CLI11.
//
//   # the server on the LAN, journal synced
//   listen = 0.0.0.0:7400
//   durability = sync   # the default
//
// One `key = value` a line; a key is a flag's name without the dashes, the
// value the rest of the line, trimmed (taken as it is: no quotes, no lists).
// `#` starts a comment anywhere on a line; blank lines are skipped. A key
// given twice keeps its first value, and a flag on the command line wins over
// the file. A line without `=`, or a key that is no flag (or is `config`,
// `help`, `version`), is refused with the file and line.
#ifndef ENCORE_TOOLS_CONFIG_FILE_H_
#define ENCORE_TOOLS_CONFIG_FILE_H_

#include <istream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace encore::tools {

class KeyValueConfig : public CLI::Config {
 public:
  // `app` is the one whose flags the file sets; it outlives this.
  explicit KeyValueConfig(const CLI::App* app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    const std::string path = app_->get_config_ptr()->as<std::string>();
    std::vector<CLI::ConfigItem> read;
    std::string line;
    for (int number = 1; std::getline(input, line); ++number) {
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      line = Trim(line);
      if (line.empty()) continue;
      const std::string where = path + ":" + std::to_string(number);
      const size_t equals = line.find('=');
      if (equals == std::string::npos) throw CLI::ConfigError(where + ": expected `key = value`");
      CLI::ConfigItem item;
      item.name = Trim(line.substr(0, equals));
      const CLI::Option* option = app_->get_option_no_throw("--" + item.name);
      if (item.name.empty() || option == nullptr || !option->get_configurable()) {
        throw CLI::ConfigError(where + ": unknown key \"" + item.name + "\"");
      }
      item.inputs.push_back(Trim(line.substr(equals + 1)));
      read.push_back(std::move(item));
    }
    return read;
  }

  // The flags given, as a file of this format.
  std::string to_config(const CLI::App* app, bool, bool, std::string) const override {
    std::string text;
    for (const CLI::Option* option : app->get_options()) {
      if (!option->get_configurable() || option->get_lnames().empty() || option->count() == 0) {
        continue;
      }
      text += option->get_lnames().front() + " = " + option->as<std::string>() + "\n";
    }
    return text;
  }

 private:
  static std::string Trim(const std::string& text) {
    const size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) return "";
    const size_t last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
  }

  const CLI::App* app_;
};

}  // namespace encore::tools

#endif  // ENCORE_TOOLS_CONFIG_FILE_H_
