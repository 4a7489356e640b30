# herald's version: the project version, plus `git describe` of the source
# tree when it is a git checkout at configure time (empty otherwise, e.g. when
# built from a release tarball). Both reach the code through server/util/version.cc.
find_package(Git QUIET)
set(HERALD_GIT_DESCRIBE "")
if(GIT_FOUND)
  execute_process(
    COMMAND ${GIT_EXECUTABLE} describe --tags --always --dirty
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    OUTPUT_VARIABLE HERALD_GIT_DESCRIBE
    OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_QUIET)
endif()
