// UserRequest: a mutating command's identity, (user, request key). Request
// keys are the client's and scoped to its user.
#ifndef ENCORE_INTERNAL_USER_REQUEST_H_
#define ENCORE_INTERNAL_USER_REQUEST_H_

#include <utility>

#include "encore/types.h"

namespace encore::internal {

struct UserRequest {
  UserId user;
  RequestKey key;
  friend bool operator==(const UserRequest&, const UserRequest&) = default;
  template <typename H>
  friend H AbslHashValue(H state, const UserRequest& request) {
    return H::combine(std::move(state), request.user, request.key);
  }
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_USER_REQUEST_H_
