// Base64 (RFC 4648, standard alphabet) for kubeconfig *-data fields and Secret values.
#pragma once

#include <string>
#include <string_view>

namespace slotkeeper::kube {

// Ignores whitespace; accepts missing padding. Returns false on any other invalid input.
bool base64Decode(std::string_view text, std::string* out);
std::string base64Encode(std::string_view data);

}  // namespace slotkeeper::kube
