// kubectl's choice of kubeconfig file, and the namespace a command acts in.
#include "operator/plugin/session.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "tests/support/test_files.h"

namespace kubecnn::plugin {
namespace {

TEST(PluginKubeconfigPaths, FlagThenEveryFileOfKubeconfigVariableThenHomeAsKubectl) {
  const std::set<std::string> files = {"/b", "/c", "/home/u/.kube/config"};
  const auto exists = [&](const std::string& path) { return files.count(path) > 0; };
  using Paths = std::vector<std::string>;
  EXPECT_EQ(KubeconfigPaths("/missing", "/b", "/home/u", exists), Paths{"/missing"});  // the flag even when missing
  EXPECT_EQ(KubeconfigPaths("", "/a:/b:/c", "/home/u", exists), (Paths{"/b", "/c"}));  // every one that exists
  EXPECT_EQ(KubeconfigPaths("", "::/c:/b:/c", "/home/u", exists), (Paths{"/c", "/b"}));
  EXPECT_EQ(KubeconfigPaths("", "/a", "/home/u", exists), Paths{}) << "a set KUBECONFIG is the whole list";
  EXPECT_EQ(KubeconfigPaths("", "", "/home/u", exists), Paths{"/home/u/.kube/config"});
  EXPECT_EQ(KubeconfigPaths("", "", "/home/v", exists), Paths{});
  EXPECT_EQ(KubeconfigPaths("", "/a", "", exists), Paths{});
}

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
