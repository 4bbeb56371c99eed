// Which files a job may make this worker read. A job spec comes from a stranger, and its
// data.train / data.test / model.init paths are opened on the contributor's machine (and a
// reader's error messages, which quote the file, go back to the job's owner): only paths inside
// the worker's data roots are allowed.
#pragma once

#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "common/wire/assignment.h"

namespace shoal {

// The data roots a worker allows when none is configured: Debian's dataset packages.
inline const std::vector<std::string> kDefaultDataRoots = {"/usr/share/datasets"};

// OK when every data path of `spec` (data.train, and data.test and model.init if set) that is
// not a registry URI lies
// inside one of `roots` after
// resolving "..", "." and symbolic links of the parts that exist (so neither "root/../etc" nor a
// symlink out of a root passes). PermissionDenied naming the path and the roots otherwise.
// A path is a file or a prefix (IDX: "<prefix>-images-idx3-ubyte[.gz]"); both are judged by the
// directory they are in plus their last component. A registry URI (shoal://...) is not a local
// path: it passes when `pins` holds its version (FindPin, dataset_fetch.h; the worker fetches
// it into a directory of its own), and is refused with PermissionDenied otherwise
// (InvalidArgument when it does not parse). Pure apart from reading the file system.
Status CheckDataPaths(const JobSpec& spec, const std::vector<std::string>& roots,
                      const std::vector<wire::Pin>& pins = {});

}  // namespace shoal
