/* stb_image compiled into fuzz_img itself, instrumented, so that the fuzzer is guided through the
 * PNG/BMP/TGA decoders and ASan watches them: the Debian libstb the library links is not. Its
 * definitions take precedence over libstb's; the header is the same Debian stb (libstb-dev). */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
