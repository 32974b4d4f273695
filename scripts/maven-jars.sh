# Sourced by scripts/install-kafka.sh and scripts/install-pulsar.sh: copies the runtime jars of a
# test POM from Maven Central into a cache outside the repository, once.
#   assemble_jars POM DIR CHECK   copies POM's runtime dependencies into DIR/lib unless DIR/.complete
#                                 exists; runs the command CHECK (given DIR/lib) before marking it
#                                 complete; prints DIR/lib.
assemble_jars() {
  local pom=$1 dir=$2 check=$3
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir/lib"
    mkdir -p "$dir"
    mvn -B -q -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dir/lib" >&2
    "$check" "$dir/lib"
    touch "$dir/.complete"
  fi
  echo "$dir/lib"
}
