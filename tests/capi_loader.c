/* Runs SavedModel signatures through TensorFlow's C API: TF_LoadSessionFromSavedModel is the
 * C++ LoadSavedModel that TF Serving's SavedModelBundle is built on (import the MetaGraph for
 * the tag, run the restore op and the init op). No Python in this process.
 *
 * usage: capi_loader SAVED_MODEL_DIR TAG [feed TENSOR FILE | fetch TENSOR FILE | run ERRFILE]...
 *   feed   feeds the graph tensor TENSOR ("op:index", from the SignatureDef) from FILE
 *   fetch  writes the graph tensor TENSOR to FILE
 *   run    runs the session on the feeds and fetches given since the last run; if TensorFlow
 *          refuses them, writes "CODE: message" to ERRFILE instead and goes on
 * Exit status: 0, 1 (the model does not load, or a file cannot be read or written), 2 (usage).
 *
 * Tensor file: a text line "DTYPE RANK DIM..." (DTYPE: float32 float64 int32 int64 uint8 bool
 * string), then the elements in row-major order: native bytes, or for strings, each as a native
 * uint64 length and its bytes.
 * Build: gcc capi_loader.c -I<tf>/include -L<tf> -l:libtensorflow_cc.so.2
 *        -l:libtensorflow_framework.so.2 -Wl,-rpath,<tf>   (<tf>: the tensorflow pip package)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/c/c_api.h"
#include "tensorflow/c/tf_tstring.h"

#define MAX_TENSORS 32
#define MAX_RANK 8

static const struct { const char *name; TF_DataType type; } DTYPES[] = {
    {"float32", TF_FLOAT}, {"float64", TF_DOUBLE}, {"int32", TF_INT32}, {"int64", TF_INT64},
    {"uint8", TF_UINT8},   {"bool", TF_BOOL},      {"string", TF_STRING}};
static const int NUM_DTYPES = sizeof(DTYPES) / sizeof(DTYPES[0]);

static const char *CODES[] = {  /* TF_Code's values, as TF Serving reports them */
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED"};

static void die(int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("capi_loader: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(status);
}

static void read_exactly(FILE *f, void *buffer, size_t size, const char *path) {
  if (size && fread(buffer, 1, size, f) != size) die(1, "%s: the file ends early", path);
}

static TF_Tensor *read_tensor(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die(1, "%s: cannot open", path);
  char name[16];
  int rank, d, k = -1;
  int64_t dims[MAX_RANK], count = 1;
  if (fscanf(f, "%15s %d", name, &rank) != 2 || rank < 0 || rank > MAX_RANK)
    die(1, "%s: expected a \"DTYPE RANK DIM...\" line", path);
  for (d = 0; d < rank; d++) {
    if (fscanf(f, "%" SCNd64, &dims[d]) != 1 || dims[d] < 0) die(1, "%s: bad dimension", path);
    count *= dims[d];
  }
  if (fgetc(f) != '\n') die(1, "%s: the header line has extra fields", path);
  for (int i = 0; i < NUM_DTYPES; i++) if (!strcmp(name, DTYPES[i].name)) k = i;
  if (k < 0) die(1, "%s: unknown dtype %s", path, name);
  TF_Tensor *tensor;
  if (DTYPES[k].type == TF_STRING) {
    tensor = TF_AllocateTensor(TF_STRING, dims, rank, count * sizeof(TF_TString));
    TF_TString *strings = TF_TensorData(tensor);
    for (int64_t i = 0; i < count; i++) {
      uint64_t size;
      read_exactly(f, &size, sizeof size, path);
      char *bytes = malloc(size ? size : 1);
      read_exactly(f, bytes, size, path);
      TF_StringInit(&strings[i]);
      TF_StringCopy(&strings[i], bytes, size);
      free(bytes);
    }
  } else {
    size_t size = count * TF_DataTypeSize(DTYPES[k].type);
    tensor = TF_AllocateTensor(DTYPES[k].type, dims, rank, size);
    read_exactly(f, TF_TensorData(tensor), TF_TensorByteSize(tensor), path);
  }
  if (fgetc(f) != EOF) die(1, "%s: more data than its shape holds", path);
  fclose(f);
  return tensor;
}

static void write_tensor(const char *path, const TF_Tensor *tensor) {
  const char *name = NULL;
  for (int i = 0; i < NUM_DTYPES; i++)
    if (TF_TensorType(tensor) == DTYPES[i].type) name = DTYPES[i].name;
  if (!name) die(1, "%s: unsupported output dtype (TF_DataType %d)", path, TF_TensorType(tensor));
  FILE *f = fopen(path, "wb");
  if (!f) die(1, "%s: cannot write", path);
  fprintf(f, "%s %d", name, TF_NumDims(tensor));
  for (int d = 0; d < TF_NumDims(tensor); d++) fprintf(f, " %" PRId64, TF_Dim(tensor, d));
  fputc('\n', f);
  if (TF_TensorType(tensor) == TF_STRING) {
    const TF_TString *strings = TF_TensorData(tensor);
    for (int64_t i = 0; i < TF_TensorElementCount(tensor); i++) {
      uint64_t size = TF_StringGetSize(&strings[i]);
      fwrite(&size, sizeof size, 1, f);
      fwrite(TF_StringGetDataPointer(&strings[i]), 1, size, f);
    }
  } else {
    fwrite(TF_TensorData(tensor), 1, TF_TensorByteSize(tensor), f);
  }
  if (ferror(f) | fclose(f)) die(1, "%s: cannot write", path);
}

/* A tensor read_tensor made: its long strings own heap memory (TF's own outputs free theirs). */
static void delete_input(TF_Tensor *tensor) {
  if (TF_TensorType(tensor) == TF_STRING) {
    TF_TString *strings = TF_TensorData(tensor);
    for (int64_t i = 0; i < TF_TensorElementCount(tensor); i++) TF_StringDealloc(&strings[i]);
  }
  TF_DeleteTensor(tensor);
}

/* "op:index" -> the graph's output; an unknown op is a usage error (the SignatureDef is wrong). */
static TF_Output graph_output(TF_Graph *graph, const char *tensor_name) {
  char op[1024];
  const char *colon = strrchr(tensor_name, ':');
  size_t length = colon ? (size_t)(colon - tensor_name) : strlen(tensor_name);
  if (length >= sizeof op) die(2, "tensor name too long: %s", tensor_name);
  memcpy(op, tensor_name, length);
  op[length] = '\0';
  TF_Output output = {TF_GraphOperationByName(graph, op), colon ? atoi(colon + 1) : 0};
  if (!output.oper) die(2, "no operation %s in the graph", op);
  return output;
}

typedef struct {
  TF_Output outputs[MAX_TENSORS];
  const char *files[MAX_TENSORS];
  int count;
} Tensors;

static void add(Tensors *tensors, TF_Graph *graph, const char *tensor_name, const char *file) {
  if (tensors->count == MAX_TENSORS) die(2, "over %d feeds or fetches in one run", MAX_TENSORS);
  tensors->outputs[tensors->count] = graph_output(graph, tensor_name);
  tensors->files[tensors->count++] = file;
}

static void run(TF_Session *session, Tensors *feeds, Tensors *fetches, const char *error_file) {
  TF_Tensor *inputs[MAX_TENSORS], *outputs[MAX_TENSORS] = {NULL};
  for (int i = 0; i < feeds->count; i++) inputs[i] = read_tensor(feeds->files[i]);
  TF_Status *status = TF_NewStatus();
  TF_SessionRun(session, NULL, feeds->outputs, inputs, feeds->count, fetches->outputs, outputs,
                fetches->count, NULL, 0, NULL, status);
  if (TF_GetCode(status) == TF_OK) {
    for (int i = 0; i < fetches->count; i++) write_tensor(fetches->files[i], outputs[i]);
  } else {
    FILE *f = fopen(error_file, "w");
    if (!f) die(1, "%s: cannot write", error_file);
    unsigned code = TF_GetCode(status);
    const char *code_name = code < sizeof CODES / sizeof CODES[0] ? CODES[code] : "?";
    fprintf(f, "%s: %s", code_name, TF_Message(status));
    fclose(f);
  }
  for (int i = 0; i < feeds->count; i++) delete_input(inputs[i]);
  for (int i = 0; i < fetches->count; i++)
    if (outputs[i]) TF_DeleteTensor(outputs[i]);
  TF_DeleteStatus(status);
  feeds->count = fetches->count = 0;
}

int main(int argc, char **argv) {
  if (argc < 3)
    die(2, "usage: capi_loader SAVED_MODEL_DIR TAG "
           "[feed TENSOR FILE | fetch TENSOR FILE | run ERRFILE]...");
  TF_Status *status = TF_NewStatus();
  TF_SessionOptions *options = TF_NewSessionOptions();
  TF_Graph *graph = TF_NewGraph();
  const char *tags[] = {argv[2]};
  TF_Session *session =
      TF_LoadSessionFromSavedModel(options, NULL, argv[1], tags, 1, graph, NULL, status);
  if (TF_GetCode(status) != TF_OK) die(1, "cannot load %s: %s", argv[1], TF_Message(status));
  Tensors feeds = {.count = 0}, fetches = {.count = 0};
  for (int i = 3; i < argc;) {
    if (!strcmp(argv[i], "feed") && i + 2 < argc) {
      add(&feeds, graph, argv[i + 1], argv[i + 2]);
      i += 3;
    } else if (!strcmp(argv[i], "fetch") && i + 2 < argc) {
      add(&fetches, graph, argv[i + 1], argv[i + 2]);
      i += 3;
    } else if (!strcmp(argv[i], "run") && i + 1 < argc) {
      run(session, &feeds, &fetches, argv[i + 1]);
      i += 2;
    } else {
      die(2, "expected feed TENSOR FILE, fetch TENSOR FILE or run ERRFILE: \"%s\"", argv[i]);
    }
  }
  if (feeds.count || fetches.count) die(2, "feeds or fetches after the last run");
  TF_CloseSession(session, status);
  TF_DeleteSession(session, status);
  TF_DeleteGraph(graph);
  TF_DeleteSessionOptions(options);
  TF_DeleteStatus(status);
  return 0;
}
