// Temporary: replaced by the checkpoint reader/writer.
#include "samri/model/checkpoint.h"

namespace samri::model {
StateDict read_checkpoint(const std::string& path, CheckpointReadInfo*) {
  throw Error(path + ": checkpoint reading is not implemented yet");
}
void write_checkpoint(const std::string& path, const StateDict&) {
  throw Error(path + ": checkpoint writing is not implemented yet");
}
StateDict module_state_dict(const torch::nn::Module&) { throw Error("not implemented yet"); }
void load_state_dict(torch::nn::Module&, const StateDict&, const std::string& source) {
  throw Error(source + ": loading is not implemented yet");
}
}  // namespace samri::model
