// S3 XML answers through tinyxml2.
#include "trainer/storage/s3_xml.h"

#include <tinyxml2.h>

#include <charconv>

namespace kubecnn::storage {
namespace {

// Answers are small; a bigger one is not something S3 sends.
constexpr size_t kMaxXmlBytes = 16 << 20;

bool Parse(std::string_view xml, tinyxml2::XMLDocument* doc) {
  if (xml.empty() || xml.size() > kMaxXmlBytes) return false;
  return doc->Parse(xml.data(), xml.size()) == tinyxml2::XML_SUCCESS && doc->RootElement() != nullptr;
}

std::string ChildText(const tinyxml2::XMLElement* parent, const char* name) {
  const tinyxml2::XMLElement* child = parent->FirstChildElement(name);
  if (!child || !child->GetText()) return "";
  return child->GetText();
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<S3ErrorBody> ParseS3Error(std::string_view xml) {
  tinyxml2::XMLDocument doc;
  if (!Parse(xml, &doc)) return std::nullopt;
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (std::string_view(root->Name()) != "Error") return std::nullopt;
  S3ErrorBody error{ChildText(root, "Code"), ChildText(root, "Message")};
  if (error.code.empty()) return std::nullopt;
  return error;
}

std::optional<S3ListPage> ParseListPage(std::string_view xml, std::string* error) {
  tinyxml2::XMLDocument doc;
  if (!Parse(xml, &doc)) {
    *error = "the listing is not XML";
    return std::nullopt;
  }
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (std::string_view(root->Name()) != "ListBucketResult") {
    *error = std::string("expected ListBucketResult, got ") + root->Name();
    return std::nullopt;
  }
  S3ListPage page;
  for (const auto* c = root->FirstChildElement("Contents"); c; c = c->NextSiblingElement("Contents")) {
    S3ListedObject object;
    object.key = ChildText(c, "Key");
    const std::string size = ChildText(c, "Size");
    const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), object.size);
    if (object.key.empty() || ec != std::errc() || end != size.data() + size.size()) {
      *error = "an entry without a key or a numeric size";
      return std::nullopt;
    }
    page.objects.push_back(std::move(object));
  }
  for (const auto* p = root->FirstChildElement("CommonPrefixes"); p; p = p->NextSiblingElement("CommonPrefixes")) {
    page.common_prefixes.push_back(ChildText(p, "Prefix"));
  }
  page.truncated = ChildText(root, "IsTruncated") == "true";
  page.next_continuation_token = ChildText(root, "NextContinuationToken");
  if (page.truncated && page.next_continuation_token.empty()) {
    *error = "a truncated listing without NextContinuationToken";
    return std::nullopt;
  }
  return page;
}

std::optional<std::string> ParseUploadId(std::string_view xml) {
  tinyxml2::XMLDocument doc;
  if (!Parse(xml, &doc)) return std::nullopt;
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (std::string_view(root->Name()) != "InitiateMultipartUploadResult") return std::nullopt;
  std::string id = ChildText(root, "UploadId");
  if (id.empty()) return std::nullopt;
  return id;
}

std::optional<StsCredentials> ParseAssumeRoleWithWebIdentity(std::string_view xml) {
  tinyxml2::XMLDocument doc;
  if (!Parse(xml, &doc)) return std::nullopt;
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (std::string_view(root->Name()) != "AssumeRoleWithWebIdentityResponse") return std::nullopt;
  const tinyxml2::XMLElement* result = root->FirstChildElement("AssumeRoleWithWebIdentityResult");
  const tinyxml2::XMLElement* credentials = result ? result->FirstChildElement("Credentials") : nullptr;
  if (!credentials) return std::nullopt;
  StsCredentials c{ChildText(credentials, "AccessKeyId"), ChildText(credentials, "SecretAccessKey"),
                   ChildText(credentials, "SessionToken"), ChildText(credentials, "Expiration")};
  if (c.access_key_id.empty() || c.secret_access_key.empty() || c.expiration.empty()) return std::nullopt;
  return c;
}

std::optional<S3ErrorBody> ParseStsError(std::string_view xml) {
  tinyxml2::XMLDocument doc;
  if (!Parse(xml, &doc)) return std::nullopt;
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (std::string_view(root->Name()) != "ErrorResponse") return std::nullopt;
  const tinyxml2::XMLElement* error = root->FirstChildElement("Error");
  if (!error) return std::nullopt;
  S3ErrorBody body{ChildText(error, "Code"), ChildText(error, "Message")};
  if (body.code.empty()) return std::nullopt;
  return body;
}

std::string CompleteMultipartBody(const std::vector<std::string>& etags) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    body +=
        "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + XmlEscape(etags[i]) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

}  // namespace kubecnn::storage
