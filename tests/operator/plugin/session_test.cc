// The namespace a command acts in. (Which kubeconfig it reads: kubeconfig_test, ConfigOrder::kKubectl.)
#include "operator/plugin/session.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/test_files.h"

namespace kubecnn::plugin {
namespace {

TEST(PluginSession, NamespaceIsTheFlagElseTheContextsElseDefault) {
  testing::ScratchDir dir;
  const std::string path = dir / "kubeconfig";
  testing::WriteFile(path,
                     "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
                     "clusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\n"
                     "users:\n- name: u\n  user: {token: t}\n"
                     "contexts:\n- name: a\n  context: {cluster: c, user: u, namespace: research}\n"
                     "- name: b\n  context: {cluster: c, user: u}\n");
  std::ostringstream out, err;
  Terminal terminal{out, err};
  EXPECT_EQ(Session(GlobalFlags{path, "", ""}, terminal).Namespace(), "research");
  EXPECT_EQ(Session(GlobalFlags{path, "", "ml"}, terminal).Namespace(), "ml");
  EXPECT_EQ(Session(GlobalFlags{path, "b", ""}, terminal).Namespace(), "default");
  EXPECT_EQ(Session(GlobalFlags{dir / "none", "", ""}, terminal).Namespace(), "default");  // dry runs need none
  Session missing_context(GlobalFlags{path, "nope", ""}, terminal);
  EXPECT_THROW(missing_context.client(), ConfigError);
}

}  // namespace
}  // namespace kubecnn::plugin
