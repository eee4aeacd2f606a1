// Wire-form domain names (see include/pooldns/wire_name.hpp).
#include "pooldns/wire_name.hpp"

#include <cstdio>

namespace pooldns {

std::size_t name_to_wire(std::string_view text, std::uint8_t (&out)[kMaxNameLength]) {
    if (text == ".") {
        out[0] = 0;
        return 1;
    }
    if (text.empty() || text.back() != '.') return 0;
    std::size_t pos = 0;        // where the current label's length octet goes
    std::size_t len = 0;        // octets in the current label
    std::size_t w = 1;          // next write position
    std::size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '.') {
            if (len == 0) return 0;  // empty label
            out[pos] = static_cast<std::uint8_t>(len);
            pos = w++;
            len = 0;
            if (w > kMaxNameLength) return 0;
            ++i;
            continue;
        }
        std::uint8_t octet;
        if (c == '\\') {
            if (i + 1 >= text.size()) return 0;
            char d = text[i + 1];
            if (d >= '0' && d <= '9') {
                if (i + 3 >= text.size()) return 0;
                int v = 0;
                for (int k = 1; k <= 3; ++k) {
                    char x = text[i + static_cast<std::size_t>(k)];
                    if (x < '0' || x > '9') return 0;
                    v = v * 10 + (x - '0');
                }
                if (v > 255) return 0;
                octet = static_cast<std::uint8_t>(v);
                i += 4;
            } else {
                octet = static_cast<std::uint8_t>(d);
                i += 2;
            }
        } else {
            octet = static_cast<std::uint8_t>(c);
            ++i;
        }
        if (++len > 63 || w >= kMaxNameLength) return 0;
        out[w++] = octet;
    }
    // The text ended with '.', so the last label was closed and `pos` holds the root.
    if (len != 0) return 0;
    out[pos] = 0;
    return w;
}

void lower_wire_name(std::span<std::uint8_t> name) {
    std::size_t i = 0;
    while (i < name.size() && name[i] != 0) {
        std::size_t n = name[i];
        for (std::size_t k = 1; k <= n && i + k < name.size(); ++k) name[i + k] = ascii_lower(name[i + k]);
        i += n + 1;
    }
}

std::size_t wire_name_length(std::span<const std::uint8_t> data) {
    std::size_t i = 0;
    while (true) {
        if (i >= data.size()) return 0;
        std::uint8_t n = data[i];
        if (n == 0) return i + 1 <= kMaxNameLength ? i + 1 : 0;
        if (n > 63) return 0;
        i += n + 1u;
        if (i >= kMaxNameLength) return 0;
    }
}

std::string wire_to_text(std::span<const std::uint8_t> name) {
    std::string out;
    std::size_t i = 0;
    while (i < name.size() && name[i] != 0) {
        std::size_t n = name[i];
        for (std::size_t k = 1; k <= n && i + k < name.size(); ++k) {
            std::uint8_t c = name[i + k];
            // Everything a master-file reader treats specially is escaped, so
            // the text reads back as the same name: '"' (which ldns leaves
            // bare), a leading '$' (a directive at the start of a line).
            bool special = c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
                           (c == '$' && out.empty());
            if (special) {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x21 || c > 0x7e) {
                char esc[5];
                std::snprintf(esc, sizeof esc, "\\%03u", c);
                out += esc;
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
        i += n + 1;
    }
    return out.empty() ? "." : out;
}

}  // namespace pooldns
