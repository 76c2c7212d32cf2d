// Placeholder composition root; replaced by the front-door work in progress.
#include <cstdio>
int main() { std::puts("tradeshardd " TRADESHARD_VERSION); return 0; }
