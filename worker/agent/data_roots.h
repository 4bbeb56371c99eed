// Which files a job may make this worker read. A job spec comes from a stranger, and its
// data.train / data.test paths are opened on the contributor's machine (and a reader's error
// messages, which quote the file, go back to the job's owner): only paths inside the worker's
// data roots are allowed.
#pragma once

#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"

namespace shoal {

// The data roots a worker allows when none is configured: Debian's dataset packages.
inline const std::vector<std::string> kDefaultDataRoots = {"/usr/share/datasets"};

// OK when every data path of `spec` (train, and test if set) lies inside one of `roots` after
// resolving "..", "." and symbolic links of the parts that exist (so neither "root/../etc" nor a
// symlink out of a root passes). PermissionDenied naming the path and the roots otherwise.
// A path is a file or a prefix (IDX: "<prefix>-images-idx3-ubyte[.gz]"); both are judged by the
// directory they are in plus their last component. Pure apart from reading the file system.
Status CheckDataPaths(const JobSpec& spec, const std::vector<std::string>& roots);

}  // namespace shoal
